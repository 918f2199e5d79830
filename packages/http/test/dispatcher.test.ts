import { afterEach, describe, expect, it } from 'vitest';
import { fetch as undiciFetch, request, setGlobalDispatcher, getGlobalDispatcher, type Dispatcher } from 'undici';
import { StaticResourceSource } from '@meshlet/xds-client';
import { createMeshDispatcher, type MeshDispatcher } from '@meshlet/http';
import { deadPort, startBackend, type Backend } from './helpers/backends.js';
import { applyMesh } from './helpers/meshConfig.js';

const TARGET = 'reviews.test:9080';
const URL_ = 'http://reviews.test:9080';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(n: number): Promise<{ backends: Backend[]; source: StaticResourceSource; dispatcher: MeshDispatcher }> {
  const backends = await Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`)));
  const source = new StaticResourceSource();
  const dispatcher = await createMeshDispatcher({ source });
  cleanups.push(async () => {
    await dispatcher.destroy();
    await Promise.all(backends.map((b) => b.close()));
  });
  return { backends, source, dispatcher };
}

async function get(dispatcher: Dispatcher, path = '/', headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const res = await request(`${URL_}${path}`, { dispatcher, headers });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

describe('MeshDispatcher over real HTTP servers', () => {
  it('routes a request for host:port to the cluster endpoints', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c0', ports: [backends[0]!.port] }] });
    const r = await get(dispatcher, '/reviews/1');
    expect(r).toMatchObject({ status: 200, body: 'b0' });
    expect(backends[0]!.seen[0]!.path).toBe('/reviews/1');
    expect(backends[0]!.seen[0]!.headers.host).toBe(TARGET);
  });

  it('splits traffic by weighted_clusters (90/10 over 1000 requests, ±4%)', async () => {
    const { backends, source, dispatcher } = await setup(2);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'v1', ports: [backends[0]!.port] }, { name: 'v2', ports: [backends[1]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }] } } }],
    });
    const counts: Record<string, number> = { b0: 0, b1: 0 };
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => get(dispatcher)));
      for (const r of batch) counts[r.body]!++;
    }
    // Binomial(1000, 0.1): sd ~ 9.5 requests, so ±40 is > 4 sd.
    expect(counts.b1).toBeGreaterThan(60);
    expect(counts.b1).toBeLessThan(140);
    expect(counts.b0! + counts.b1!).toBe(1000);
  });

  it('matches routes on path, header and query, first match wins, and answers NR 404 otherwise', async () => {
    const { backends, source, dispatcher } = await setup(3);
    applyMesh(source, {
      target: TARGET,
      clusters: backends.map((b, i) => ({ name: `c${i}`, ports: [b.port] })),
      routes: [
        { match: { prefix: '/api', headers: [{ name: 'x-canary', exact_match: 'yes' }] }, route: { cluster: 'c1' } },
        { match: { safe_regex: { regex: '/items/[0-9]+' }, query_parameters: [{ name: 'v', string_match: { exact: '2' } }] }, route: { cluster: 'c2' } },
        { match: { prefix: '/api' }, route: { cluster: 'c0' } },
      ],
    });
    expect((await get(dispatcher, '/api/x', { 'x-canary': 'yes' })).body).toBe('b1');
    expect((await get(dispatcher, '/api/x')).body).toBe('b0');
    expect((await get(dispatcher, '/items/42?v=2')).body).toBe('b2');
    const nr = await get(dispatcher, '/items/42?v=3');
    expect(nr.status).toBe(404);
    expect(nr.headers['x-meshlet-response-flags']).toBe('NR');
  });

  it('routes by cluster_header: the cluster a header names is resolved on first use (that request gets NC), then used', async () => {
    const { backends, source, dispatcher } = await setup(2);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'blue', ports: [backends[0]!.port] }, { name: 'green', ports: [backends[1]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { cluster_header: 'x-cluster' } }],
    });
    const first = await get(dispatcher, '/', { 'x-cluster': 'green' });
    expect([first.status, first.headers['x-meshlet-response-flags']]).toEqual([503, 'NC']);
    await new Promise((r) => setTimeout(r, 10));
    expect(await get(dispatcher, '/', { 'x-cluster': 'green' })).toMatchObject({ status: 200, body: 'b1' });
    await get(dispatcher, '/', { 'x-cluster': 'blue' });
    await new Promise((r) => setTimeout(r, 10));
    expect(await get(dispatcher, '/', { 'x-cluster': 'blue' })).toMatchObject({ status: 200, body: 'b0' });
    // A name the control plane does not know stays NC.
    await get(dispatcher, '/', { 'x-cluster': 'nope' });
    await new Promise((r) => setTimeout(r, 10));
    expect((await get(dispatcher, '/', { 'x-cluster': 'nope' })).headers['x-meshlet-response-flags']).toBe('NC');
  });

  it('retries 5xx on another host (previous_hosts) and sends x-envoy-attempt-count', async () => {
    const { backends, source, dispatcher } = await setup(2);
    backends[0]!.behave((_q, res) => res.writeHead(503).end('down'));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port, backends[1]!.port] }],
      virtualHost: { include_request_attempt_count: true },
      routes: [
        {
          match: { prefix: '/' },
          route: {
            cluster: 'c',
            retry_policy: {
              retry_on: '5xx',
              num_retries: 2,
              retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
              host_selection_retry_max_attempts: 5,
              retry_back_off: { base_interval: '0.001s' },
            },
          },
        },
      ],
    });
    for (let i = 0; i < 20; i++) expect((await get(dispatcher)).status).toBe(200);
    const retried = backends[1]!.seen.filter((s) => s.headers['x-envoy-attempt-count'] === '2');
    expect(retried.length).toBe(backends[0]!.seen.length); // every 503 was followed by a retry on b1
    expect(backends[0]!.seen.every((s) => s.headers['x-envoy-attempt-count'] === '1')).toBe(true);
  });

  it("leaves the caller's dispatch options as passed; the first attempt and the retry each carry the request's headers and body", async () => {
    const { backends, source, dispatcher } = await setup(2);
    backends[0]!.behave((_q, res) => res.writeHead(503).end('down'));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port, backends[1]!.port], cluster: { lb_policy: 'ROUND_ROBIN' } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 3, retry_back_off: { base_interval: '0.001s' } } } }],
    });
    for (let i = 0; i < 4; i++) {
      const opts = { origin: URL_, path: `/p${i}`, method: 'POST' as const, headers: { 'x-k': `v${i}` }, body: `payload-${i}` };
      const before = structuredClone(opts);
      const res = await dispatcher.request(opts);
      expect(res.statusCode).toBe(200);
      await res.body.text();
      expect(opts).toEqual(before);
    }
    const all = [...backends[0]!.seen, ...backends[1]!.seen];
    expect(backends[1]!.seen.map((s) => s.body)).toEqual(['payload-0', 'payload-1', 'payload-2', 'payload-3']);
    for (const s of all) expect([s.path, s.headers['x-k'], s.body]).toEqual([`/p${s.body.slice(-1)}`, `v${s.body.slice(-1)}`, s.body]);
    expect(backends[0]!.seen.length).toBeGreaterThan(0); // round robin sent some first attempts to the failing host
  });

  it('streams a large response whole to a slow reader: undici.request and fetch pause the upstream and resume it', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const chunks = 64; // 4 MiB: more than the sockets' and the readers' buffers hold, so the reader's pauses reach the upstream
    backends[0]!.behave((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const more = (): void => {
        while (sent < chunks) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backends[0]!.port] }] });
    const slowly = async (body: AsyncIterable<Uint8Array>): Promise<number> => {
      let bytes = 0;
      let n = 0;
      for await (const part of body) {
        bytes += part.length;
        if (++n % 8 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      return bytes;
    };
    const res = await request(`${URL_}/big`, { dispatcher, highWaterMark: 16 * 1024 });
    expect(await slowly(res.body)).toBe(chunk.length * chunks);
    const fetched = await undiciFetch(`${URL_}/big`, { dispatcher });
    expect(await slowly(fetched.body as unknown as AsyncIterable<Uint8Array>)).toBe(chunk.length * chunks);
  });

  it('retries connect-failure and replays a POST body', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const dead = await deadPort();
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [dead, backends[0]!.port], cluster: { lb_policy: 'ROUND_ROBIN' } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: 'connect-failure', num_retries: 3, retry_back_off: { base_interval: '0.001s' } } } }],
    });
    for (let i = 0; i < 6; i++) {
      const res = await request(`${URL_}/post`, { dispatcher, method: 'POST', body: `payload-${i}` });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    expect(backends[0]!.seen.map((s) => s.body)).toEqual(['payload-0', 'payload-1', 'payload-2', 'payload-3', 'payload-4', 'payload-5']);
  });

  it('does not retry without a retry policy: the 503 comes back as is', async () => {
    const { backends, source, dispatcher } = await setup(1);
    backends[0]!.behave((_q, res) => res.writeHead(503).end('down'));
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backends[0]!.port] }] });
    const r = await get(dispatcher);
    expect(r).toMatchObject({ status: 503, body: 'down' });
    expect(backends[0]!.seen).toHaveLength(1);
  });

  it('enforces the route timeout (UT 504) and per_try_timeout with a retry', async () => {
    const { backends, source, dispatcher } = await setup(2);
    backends[0]!.behave((_q, res) => setTimeout(() => res.writeHead(200).end('slow'), 2000).unref());
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'slow', ports: [backends[0]!.port] }, { name: 'mixed', ports: [backends[0]!.port, backends[1]!.port] }],
      routes: [
        { match: { prefix: '/slow' }, route: { cluster: 'slow', timeout: '0.1s' } },
        {
          match: { prefix: '/' },
          route: { cluster: 'mixed', timeout: '1.5s', retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: '0.1s', retry_back_off: { base_interval: '0.001s' }, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }] } },
        },
      ],
    });
    const t = await get(dispatcher, '/slow');
    expect(t.status).toBe(504);
    expect(t.headers['x-meshlet-response-flags']).toContain('UT');
    for (let i = 0; i < 4; i++) expect((await get(dispatcher, '/x')).body).toBe('b1');
  });

  it('fails fast with 503 UO when max_requests is reached', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const release: Array<() => void> = [];
    backends[0]!.behave((_q, res) => release.push(() => res.writeHead(200).end('ok')));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port], cluster: { circuit_breakers: { thresholds: [{ max_requests: 2 }] } } }],
    });
    const inflight = [get(dispatcher), get(dispatcher)];
    while (release.length < 2) await new Promise((r) => setTimeout(r, 5));
    const overflow = await get(dispatcher);
    expect(overflow.status).toBe(503);
    expect(overflow.headers['x-meshlet-response-flags']).toBe('UO');
    expect(overflow.body).toMatch(/overflow/i);
    release.forEach((r) => r());
    expect((await Promise.all(inflight)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('ejects a host after consecutive 5xx (outlier detection) and sends traffic to the healthy one', async () => {
    const { backends, source, dispatcher } = await setup(2);
    backends[1]!.behave((_q, res) => res.writeHead(500).end('bad'));
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: [backends[0]!.port, backends[1]!.port],
          cluster: { outlier_detection: { consecutive_5xx: 3, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 100 } },
        },
      ],
    });
    for (let i = 0; i < 20; i++) await get(dispatcher);
    const seenBad = backends[1]!.seen.length;
    expect(seenBad).toBe(3); // ejected right after the third consecutive 5xx
    const after = await Promise.all(Array.from({ length: 20 }, () => get(dispatcher)));
    expect(after.every((r) => r.body === 'b0')).toBe(true);
    expect(backends[1]!.seen.length).toBe(seenBad);
  });

  it('injects faults from the HCM fault filter (abort 100% -> FI)', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      fault: { abort: { http_status: 418, percentage: { numerator: 100, denominator: 'HUNDRED' } } },
    });
    const r = await get(dispatcher);
    expect(r.status).toBe(418);
    expect(r.headers['x-meshlet-response-flags']).toBe('FI');
    expect(backends[0]!.seen).toHaveLength(0);
  });

  it('follows a config push without dropping in-flight requests', async () => {
    const { backends, source, dispatcher } = await setup(2);
    const held: Array<() => void> = [];
    backends[0]!.behave((_q, res) => held.push(() => res.writeHead(200).end('b0')));
    applyMesh(source, { target: TARGET, clusters: [{ name: 'a', ports: [backends[0]!.port] }, { name: 'b', ports: [backends[1]!.port] }] });
    const inflight = Promise.all(Array.from({ length: 5 }, () => get(dispatcher)));
    while (held.length < 5) await new Promise((r) => setTimeout(r, 5));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'a', ports: [backends[0]!.port] }, { name: 'b', ports: [backends[1]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'b' } }],
    });
    // The new route names cluster b, first seen now: the snapshot swaps once b resolves (A74).
    await new Promise((r) => setTimeout(r, 0));
    expect((await get(dispatcher)).body).toBe('b1');
    held.forEach((h) => h());
    expect((await inflight).map((r) => r.body)).toEqual(['b0', 'b0', 'b0', 'b0', 'b0']);
  });

  it('passes unknown hosts through, or rejects them when configured', async () => {
    const { backends, source } = await setup(1);
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backends[0]!.port] }] });
    const pass = await createMeshDispatcher({ source });
    const strict = await createMeshDispatcher({ source, passthrough: 'reject' });
    cleanups.push(() => pass.destroy(), () => strict.destroy());
    const direct = await request(`http://127.0.0.1:${backends[0]!.port}/direct`, { dispatcher: pass });
    expect(await direct.body.text()).toBe('b0');
    await expect(request(`http://127.0.0.1:${backends[0]!.port}/direct`, { dispatcher: strict })).rejects.toThrow(/not in the mesh/);
  });

  it("drives Node's global fetch through setGlobalDispatcher", async () => {
    const { backends, source, dispatcher } = await setup(2);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'v1', ports: [backends[0]!.port] }, { name: 'v2', ports: [backends[1]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'v2' } }],
    });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(dispatcher);
    cleanups.push(() => setGlobalDispatcher(previous));
    const res = await fetch(`${URL_}/hello`, { method: 'POST', body: 'hi' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('b1');
    expect(backends[1]!.seen[0]).toMatchObject({ path: '/hello', body: 'hi' });
  });

  it('local replies made before any attempt (NR, direct_response, UH) reach fetch, undici.fetch and undici.request whole', async () => {
    // These replies are delivered while dispatch() is still running: the callers' handlers must take them as undici's own errors.
    const { source, dispatcher } = await setup(0);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'empty', ports: [] }],
      routes: [
        { match: { path: '/teapot' }, direct_response: { status: 418, body: { inline_string: 'short and stout' } } },
        { match: { path: '/nohost' }, route: { cluster: 'empty' } },
      ],
    });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(dispatcher);
    cleanups.push(() => setGlobalDispatcher(previous));
    for (const f of [fetch, (u: string) => undiciFetch(u, { dispatcher })]) {
      const tea = await f(`${URL_}/teapot`);
      expect([tea.status, await tea.text()]).toEqual([418, 'short and stout']);
      const nr = await f(`${URL_}/missing`);
      expect([nr.status, nr.headers.get('x-meshlet-response-flags')]).toEqual([404, 'NR']);
      await nr.text();
      const uh = await f(`${URL_}/nohost`);
      expect([uh.status, uh.headers.get('x-meshlet-response-flags')]).toEqual([503, 'UH']);
      expect(await uh.text()).toMatch(/no healthy upstream/);
    }
    const viaRequest = await get(dispatcher, '/teapot');
    expect(viaRequest).toMatchObject({ status: 418, body: 'short and stout' });
  });
});
