import { describe, expect, it } from 'vitest';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import type { Backend } from './helpers/backends.js';
import { meshHarness, type Reply } from './helpers/harness.js';

/**
 * The HCM fault filter (envoy.extensions.filters.http.fault.v3.HTTPFault) and the route's
 * rewrites, header mutations, direct_response and redirect, seen from a real backend and client.
 */
const TARGET = 'reviews.test:9080';
const { setup, get, many } = meshHarness();

const FAULT_FILTER = 'envoy.filters.http.fault';
const HTTP_FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const pct = (n: number) => ({ numerator: n, denominator: 'HUNDRED' });

async function timed(fn: () => Promise<Reply>): Promise<{ r: Reply; ms: number }> {
  const t0 = performance.now();
  const r = await fn();
  return { r, ms: performance.now() - t0 };
}

describe('fault injection over real HTTP servers', () => {
  it('fixed_delay at 100%: the request is held for the delay, then forwarded (upstream response, no flags)', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      fault: { delay: { fixed_delay: '0.2s', percentage: pct(100) } },
    });
    const { r, ms } = await timed(() => get(dispatcher));
    expect(r).toMatchObject({ status: 200, body: 'b0' });
    expect(r.headers['x-meshlet-response-flags']).toBeUndefined(); // flags only travel on local replies
    expect(ms).toBeGreaterThanOrEqual(200 - 5); // the delay happened (a lower bound, not a speed check)
    expect(backends[0]!.seen).toHaveLength(1);
  });

  it('the route timeout starts after the fault delay (Envoy router timer), so a delay longer than it still succeeds', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', timeout: '0.1s' } }],
      fault: { delay: { fixed_delay: '0.2s', percentage: pct(100) } },
    });
    const { r, ms } = await timed(() => get(dispatcher));
    expect(r).toMatchObject({ status: 200, body: 'b0' });
    expect(ms).toBeGreaterThanOrEqual(200 - 5);
  });

  it('percentage aborts: 30% of 600 requests aborted (±7%), the rest reach the backend', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      fault: { abort: { http_status: 503, percentage: pct(30) } },
    });
    const rs = await many(600, 30, () => get(dispatcher));
    const aborted = rs.filter((r) => r.status === 503 && r.headers['x-meshlet-response-flags'] === 'FI');
    // Binomial(600, 0.3): mean 180, sd 11.2; ±42 (7% of 600) is 3.7 sd.
    expect(aborted.length).toBeGreaterThanOrEqual(180 - 42);
    expect(aborted.length).toBeLessThanOrEqual(180 + 42);
    expect(backends[0]!.seen).toHaveLength(600 - aborted.length);
    expect(rs.filter((r) => r.status === 200)).toHaveLength(600 - aborted.length);
  });

  it('header-controlled faults: x-envoy-fault-abort-request and x-envoy-fault-delay-request', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      fault: { abort: { header_abort: {}, percentage: pct(100) }, delay: { header_delay: {}, percentage: pct(100) } },
    });
    const aborted = await get(dispatcher, '/', { 'x-envoy-fault-abort-request': '429' });
    expect(aborted.status).toBe(429);
    expect(aborted.headers['x-meshlet-response-flags']).toBe('FI');
    expect(backends[0]!.seen).toHaveLength(0);

    // Without the headers nothing is injected.
    expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'b0' });

    const { r, ms } = await timed(() => get(dispatcher, '/', { 'x-envoy-fault-delay-request': '150' }));
    expect(r).toMatchObject({ status: 200, body: 'b0' });
    expect(ms).toBeGreaterThanOrEqual(150 - 5);

    // x-envoy-fault-abort-request-percentage: 0 of 100 disables the abort for this request.
    const spared = await get(dispatcher, '/', { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-request-percentage': '0' });
    expect(spared.status).toBe(200);
  });

  it('fault headers match: only requests matching HTTPFault.headers are faulted', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      fault: { headers: [{ name: 'end-user', string_match: { exact: 'jason' } }], abort: { http_status: 500, percentage: pct(100) } },
    });
    expect((await get(dispatcher, '/', { 'end-user': 'jason' })).status).toBe(500);
    expect((await get(dispatcher, '/', { 'end-user': 'other' })).status).toBe(200);
  });

  it('typed_per_filter_config: route and weighted-cluster overrides replace or disable the HCM fault', async () => {
    const { backends, source, dispatcher } = await setup(2);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c0', ports: [backends[0]!.port] }, { name: 'c1', ports: [backends[1]!.port] }],
      fault: { abort: { http_status: 503, percentage: pct(100) } },
      routes: [
        { match: { prefix: '/safe' }, route: { cluster: 'c0' }, typed_per_filter_config: { [FAULT_FILTER]: { '@type': FILTER_CONFIG, disabled: true } } },
        { match: { prefix: '/teapot' }, route: { cluster: 'c0' }, typed_per_filter_config: { [FAULT_FILTER]: { '@type': HTTP_FAULT, abort: { http_status: 418, percentage: pct(100) } } } },
        {
          match: { prefix: '/weighted' },
          route: {
            weighted_clusters: {
              clusters: [{ name: 'c1', weight: 100, typed_per_filter_config: { [FAULT_FILTER]: { '@type': HTTP_FAULT, abort: { http_status: 409, percentage: pct(100) } } } }],
            },
          },
          typed_per_filter_config: { [FAULT_FILTER]: { '@type': HTTP_FAULT, abort: { http_status: 418, percentage: pct(100) } } },
        },
        { match: { prefix: '/' }, route: { cluster: 'c0' } },
      ],
    });
    expect(await get(dispatcher, '/safe')).toMatchObject({ status: 200, body: 'b0' });
    expect((await get(dispatcher, '/teapot')).status).toBe(418);
    expect((await get(dispatcher, '/weighted')).status).toBe(409); // the weighted cluster is most specific
    expect((await get(dispatcher, '/other')).status).toBe(503);
    expect(backends[0]!.seen.map((s) => s.path)).toEqual(['/safe']);
  });
});

describe('rewrites, header mutations, direct_response and redirect over real HTTP servers', () => {
  it('prefix_rewrite, regex_rewrite and host_rewrite_literal are what the backend sees', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      routes: [
        { match: { prefix: '/api/v1/' }, route: { cluster: 'c', prefix_rewrite: '/v1/' } },
        { match: { prefix: '/users/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex: '^/users/([0-9]+)/profile$' }, substitution: '/profiles/\\1' } } },
        { match: { prefix: '/host' }, route: { cluster: 'c', host_rewrite_literal: 'internal.example' } },
      ],
    });
    await get(dispatcher, '/api/v1/items?x=1');
    await get(dispatcher, '/users/42/profile');
    await get(dispatcher, '/host/a');
    expect(backends[0]!.seen.map((s) => s.path)).toEqual(['/v1/items?x=1', '/profiles/42', '/host/a']);
    expect(backends[0]!.seen.map((s) => s.headers.host)).toEqual([TARGET, TARGET, 'internal.example']);
    // As Envoy's router: the original path of a rewritten request, query included; none when not rewritten.
    expect(backends[0]!.seen.map((s) => s.headers['x-envoy-original-path'])).toEqual(['/api/v1/items?x=1', '/users/42/profile', undefined]);
  });

  it('auto_host_rewrite: each attempt sends its own endpoint\'s hostname as Host (a retry to another endpoint, another name); none set, the original', async () => {
    const { backends, source, dispatcher } = await setup(3);
    const [b0, b1, b2] = backends as [Backend, Backend, Backend];
    b0.behave((_q, res) => res.writeHead(503).end('down'));
    const named = (port: number, hostname?: string) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } }, ...(hostname ? { hostname } : {}) } });
    applyMesh(source, {
      target: TARGET,
      clusters: [
        { name: 'named', ports: [], endpoints: [{ lb_endpoints: [named(b0.port, 'b0.internal'), named(b1.port, 'b1.internal')] }], cluster: { lb_policy: 'ROUND_ROBIN' } },
        { name: 'bare', ports: [], endpoints: [{ lb_endpoints: [named(b2.port)] }] },
      ],
      routes: [
        { match: { prefix: '/named' }, route: { cluster: 'named', auto_host_rewrite: true, retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, retry_host_predicate: [PREVIOUS_HOSTS] } } },
        { match: { prefix: '/bare' }, route: { cluster: 'bare', auto_host_rewrite: true } },
      ],
    });
    for (let i = 0; i < 6; i++) expect((await get(dispatcher, '/named')).status).toBe(200);
    expect(new Set(b0.seen.map((s) => s.headers.host))).toEqual(new Set(['b0.internal']));
    expect(new Set(b1.seen.map((s) => s.headers.host))).toEqual(new Set(['b1.internal']));
    expect(b0.seen.length).toBeGreaterThan(0); // some first attempts met b0 and were retried on b1
    // An endpoint without a hostname (an IP): the request's own authority.
    expect((await get(dispatcher, '/bare')).status).toBe(200);
    expect(b2.seen.map((s) => s.headers.host)).toEqual([TARGET]);
  });

  it('a rewritten request that is retried: each attempt sends the path rewritten once, from the request\'s own', async () => {
    // The first attempt of a request whose path is not rewritten is dispatched with the call's own options,
    // written in place; a rewritten one must not be, or the retry would rewrite the rewritten path.
    const { backends, source, dispatcher } = await setup(1);
    let n = 0;
    backends[0]!.behave((_q, res) => void (n++ === 0 ? res.writeHead(503).end('busy') : res.writeHead(200).end('ok')));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      routes: [
        {
          match: { prefix: '/api/' },
          route: { cluster: 'c', prefix_rewrite: '/api/v2/', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: { base_interval: '0.001s', max_interval: '0.002s' } } },
        },
      ],
    });
    expect(await get(dispatcher, '/api/items')).toMatchObject({ status: 200, body: 'ok' });
    expect(backends[0]!.seen.map((s) => s.path)).toEqual(['/api/v2/items', '/api/v2/items']);
    expect(backends[0]!.seen.map((s) => s.headers['x-envoy-original-path'])).toEqual(['/api/items', '/api/items']);
  });

  it('request/response headers_to_add/remove at weighted-cluster, route and vhost levels (applied in that order)', async () => {
    const { backends, source, dispatcher } = await setup(1);
    backends[0]!.behave((_q, res) => res.writeHead(200, { 'x-secret': 's', 'x-upstream': 'u', 'x-level': 'upstream' }).end('ok'));
    const add = (key: string, value: string, append_action?: string) => ({ header: { key, value }, ...(append_action ? { append_action } : {}) });
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      virtualHost: {
        request_headers_to_add: [add('x-vhost', 'v'), add('x-chain', 'vhost'), add('x-level', 'vhost', 'OVERWRITE_IF_EXISTS_OR_ADD')],
        request_headers_to_remove: ['x-drop-vhost'],
        response_headers_to_add: [add('x-resp-vhost', 'v'), add('x-level', 'vhost', 'OVERWRITE_IF_EXISTS_OR_ADD')],
        response_headers_to_remove: ['x-secret'],
      },
      routes: [
        {
          match: { prefix: '/' },
          route: {
            weighted_clusters: {
              clusters: [
                {
                  name: 'c',
                  weight: 1,
                  request_headers_to_add: [add('x-wc', 'w'), add('x-chain', 'wc')],
                  request_headers_to_remove: ['x-drop-wc'],
                  response_headers_to_add: [add('x-resp-wc', 'w')],
                },
              ],
            },
          },
          request_headers_to_add: [add('x-route', 'r'), add('x-chain', 'route'), add('x-level', 'route', 'OVERWRITE_IF_EXISTS_OR_ADD'), add('x-keep', 'route', 'ADD_IF_ABSENT')],
          request_headers_to_remove: ['x-drop-route'],
          response_headers_to_add: [add('x-resp-route', 'r'), add('x-level', 'route', 'OVERWRITE_IF_EXISTS_OR_ADD')],
          response_headers_to_remove: ['x-upstream'],
        },
      ],
    });
    const r = await get(dispatcher, '/', { 'x-drop-vhost': '1', 'x-drop-wc': '1', 'x-drop-route': '1', 'x-keep': 'client', 'x-chain': 'client' });
    const seen = backends[0]!.seen[0]!.headers;
    expect(seen).toMatchObject({ 'x-vhost': 'v', 'x-wc': 'w', 'x-route': 'r', 'x-keep': 'client', 'x-level': 'vhost' });
    // Appended most specific first (one list-valued header line; Node would join repeated lines with ', ').
    expect(String(seen['x-chain']).split(/,\s*/)).toEqual(['client', 'wc', 'route', 'vhost']);
    expect(seen['x-drop-vhost'] ?? seen['x-drop-wc'] ?? seen['x-drop-route']).toBeUndefined();
    expect(r.headers).toMatchObject({ 'x-resp-vhost': 'v', 'x-resp-wc': 'w', 'x-resp-route': 'r', 'x-level': 'vhost' });
    expect(r.headers['x-secret']).toBeUndefined();
    expect(r.headers['x-upstream']).toBeUndefined();
  });

  it('direct_response answers locally with its status and body (and the route response headers)', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      routes: [
        {
          match: { prefix: '/health' },
          direct_response: { status: 200, body: { inline_string: 'healthy' } },
          response_headers_to_add: [{ header: { key: 'x-direct', value: 'yes' } }],
        },
        { match: { prefix: '/gone' }, direct_response: { status: 410 } },
      ],
    });
    const r = await get(dispatcher, '/health');
    expect(r).toMatchObject({ status: 200, body: 'healthy' });
    expect(r.headers['x-direct']).toBe('yes');
    expect(await get(dispatcher, '/gone')).toMatchObject({ status: 410, body: '' });
    expect(backends[0]!.seen).toHaveLength(0);
  });

  it('redirect: scheme, host, path and prefix rewrites with the configured response code', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      routes: [
        { match: { prefix: '/secure' }, redirect: { https_redirect: true, host_redirect: 'secure.example', port_redirect: 8443 } },
        { match: { prefix: '/old/' }, redirect: { prefix_rewrite: '/new/', response_code: 'PERMANENT_REDIRECT' } },
        { match: { prefix: '/moved' }, redirect: { path_redirect: '/landing', strip_query: true, response_code: 'FOUND' } },
      ],
    });
    const a = await get(dispatcher, '/secure/x?q=1');
    expect(a.status).toBe(301);
    expect(a.headers.location).toBe('https://secure.example:8443/secure/x?q=1');
    const b = await get(dispatcher, '/old/page?q=2');
    expect(b.status).toBe(308);
    expect(b.headers.location).toBe(`http://${TARGET}/new/page?q=2`);
    const c = await get(dispatcher, '/moved?q=3');
    expect(c.status).toBe(302);
    expect(c.headers.location).toBe(`http://${TARGET}/landing`);
    expect(backends[0]!.seen).toHaveLength(0);
  });
});
