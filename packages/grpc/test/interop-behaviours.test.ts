import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ListenerResource, fromProto3Json } from '@meshlet/xds-client';
import { failWith, type GrpcBackend } from './helpers/backends.js';
import type { EchoClient, UnaryOutcome } from './helpers/echoService.js';
import { meshSetups } from './helpers/meshSetup.js';

/**
 * The gRPC xDS interop client behaviours (psm-interop's path_matching, header_matching, timeout,
 * fault_injection and retry cases) that meshChannel.test.ts does not already cover: regex and
 * case-insensitive paths, every header matcher kind (gRFC A28), the A31 timeout sources, fractional,
 * header-driven and per-route faults (A33), retry exhaustion, the A44 attempt cap and commit rule.
 * Round robin, traffic splitting, exact/prefix paths, exact/present headers, retry-until-success,
 * route max_stream_duration, 100% abort/delay and circuit breaking are in meshChannel.test.ts.
 */
const TARGET = 'behaviours.test:50051';
const HUNDRED = { numerator: 100, denominator: 'HUNDRED' };
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

const setup = meshSetups(TARGET);

/** One cluster per backend, `c0`..`cN`. */
const clusterPerBackend = (ports: number[]) => ports.map((p, i) => ({ name: `c${i}`, ports: [p] }));

/** One unary call; `-bin` metadata values are sent as Buffers. Never rejects. */
function unary(client: EchoClient, options: { method?: 'Echo' | 'Other'; metadata?: Record<string, string>; body?: string; deadline?: number } = {}): Promise<UnaryOutcome> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, k.endsWith('-bin') ? Buffer.from(v) : v);
  return new Promise((resolve) => {
    client[options.method ?? 'Echo'](Buffer.from(options.body ?? 'hi'), md, { deadline: options.deadline ?? Date.now() + 3000 }, (err, res) => {
      if (err) resolve({ ok: false, code: err.code, details: err.details });
      else resolve({ ok: true, body: res!.toString(), code: grpc.status.OK, details: '' });
    });
  });
}

/** Backends answer after the number of ms in the request body, recording the deadline they were given. */
function answerAfterBody(backend: GrpcBackend, deadlines: number[]): void {
  backend.behave((call, callback, name) => {
    const deadline = call.getDeadline();
    deadlines.push(deadline instanceof Date ? deadline.getTime() - Date.now() : Number(deadline) - Date.now());
    const timer = setTimeout(() => callback(null, Buffer.from(name)), Number(call.request.toString()));
    call.on('cancelled', () => clearTimeout(timer));
  });
}

describe('path matching (psm-interop path_matching, gRFC A28)', () => {
  it('matches safe_regex against the whole path and honours case_sensitive: false', async () => {
    const { client } = await setup(3, (ports) => ({
      clusters: clusterPerBackend(ports),
      routes: [
        // case_sensitive defaults to true: this prefix never matches the real (lower-case) path.
        { match: { prefix: '/MESHLET.TEST' }, route: { cluster: 'c2' } },
        // RE2 over the whole path: "Other" alone would match only as a substring search.
        { match: { safe_regex: { regex: 'Other' } }, route: { cluster: 'c2' } },
        { match: { safe_regex: { regex: '/meshlet\\.test\\.Echo/Oth[a-z]+' } }, route: { cluster: 'c1' } },
        { match: { path: '/MESHLET.test.echo/ECHO', case_sensitive: false }, route: { cluster: 'c0' } },
      ],
    }));
    expect((await unary(client, { method: 'Other' })).body).toBe('b1');
    expect((await unary(client)).body).toBe('b0');
  });
});

describe('header matching (psm-interop header_matching, gRFC A28)', () => {
  it('applies prefix, suffix, regex, range and inverted matchers; -bin keys are invisible; content-type reads application/grpc', async () => {
    const { client } = await setup(7, (ports) => ({
      clusters: clusterPerBackend(ports),
      routes: [
        { match: { prefix: '/', headers: [{ name: 'x-trace-bin', present_match: true }] }, route: { cluster: 'c0' } },
        { match: { prefix: '/', headers: [{ name: 'x-user', prefix_match: 'adm' }] }, route: { cluster: 'c1' } },
        { match: { prefix: '/', headers: [{ name: 'x-user', string_match: { suffix: '-canary' } }] }, route: { cluster: 'c2' } },
        { match: { prefix: '/', headers: [{ name: 'x-user', safe_regex_match: { regex: 'u[0-9]+' } }] }, route: { cluster: 'c3' } },
        { match: { prefix: '/', headers: [{ name: 'x-num', range_match: { start: '100', end: '200' } }] }, route: { cluster: 'c4' } },
        { match: { prefix: '/', headers: [{ name: 'x-env', exact_match: 'prod', invert_match: true }] }, route: { cluster: 'c5' } },
        { match: { prefix: '/', headers: [{ name: 'content-type', exact_match: 'application/grpc' }] }, route: { cluster: 'c6' } },
      ],
    }));
    const via = async (metadata: Record<string, string>) => (await unary(client, { metadata })).body;
    expect(await via({ 'x-trace-bin': 'abc' })).toBe('b6');
    expect(await via({ 'x-user': 'admin' })).toBe('b1');
    expect(await via({ 'x-user': 'u7-canary' })).toBe('b2');
    expect(await via({ 'x-user': 'u42' })).toBe('b3');
    expect(await via({ 'x-user': 'u42x' })).toBe('b6'); // the regex must match the whole value
    expect(await via({ 'x-num': '100' })).toBe('b4'); // start inclusive
    expect(await via({ 'x-num': '199' })).toBe('b4');
    expect(await via({ 'x-num': '200' })).toBe('b6'); // end exclusive
    expect(await via({ 'x-num': '1e2' })).toBe('b6'); // not an integer
    expect(await via({ 'x-env': 'dev' })).toBe('b5');
    expect(await via({ 'x-env': 'prod' })).toBe('b6');
    expect(await via({})).toBe('b6'); // an absent header never matches, inverted or not
  });
});

describe('timeouts (psm-interop timeout, gRFC A31)', () => {
  it('ignores RouteAction.timeout, prefers grpc_timeout_header_max, and lets a shorter caller deadline win', async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      routes: [
        { match: { path: '/meshlet.test.Echo/Other' }, route: { cluster: 'c0', timeout: '0.05s' } },
        { match: { prefix: '/' }, route: { cluster: 'c0', max_stream_duration: { max_stream_duration: '5s', grpc_timeout_header_max: '0.3s' } } },
      ],
    }));
    const deadlines: number[] = [];
    answerAfterBody(backends[0]!, deadlines);

    // RouteAction.timeout (50 ms) is an HTTP setting: a 150 ms gRPC call still succeeds.
    expect(await unary(client, { method: 'Other', body: '150' })).toMatchObject({ ok: true, body: 'b0' });

    // grpc_timeout_header_max (300 ms) bounds the call, not max_stream_duration (5 s).
    let start = Date.now();
    const bounded = await unary(client, { body: '2000' });
    expect(bounded.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - start).toBeLessThan(1000);
    // ...and it reached the server as the attempt's deadline (grpc-timeout).
    expect(deadlines.at(-1)!).toBeLessThanOrEqual(300);

    // A caller deadline shorter than the route's bound wins.
    start = Date.now();
    const callerBound = await unary(client, { body: '2000', deadline: Date.now() + 40 });
    expect(callerBound.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(deadlines.at(-1)!).toBeLessThanOrEqual(40);
    expect(Date.now() - start).toBeLessThan(250);
  });

  it("falls back to the HttpConnectionManager's common_http_protocol_options.max_stream_duration", async () => {
    const { backends, client, source } = await setup(1, (ports) => ({ clusters: [{ name: 'c0', ports }] }));
    // The same api_listener applyMesh writes, with an HCM-wide stream bound.
    source.replaceFromObjects(ListenerResource, [
      fromProto3Json(ListenerResource.typeUrl, {
        name: TARGET,
        api_listener: {
          api_listener: {
            '@type': HCM,
            rds: { route_config_name: `routes:${TARGET}`, config_source: { ads: {} } },
            common_http_protocol_options: { max_stream_duration: '0.08s' },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
          },
        },
      }),
    ]);
    const deadlines: number[] = [];
    answerAfterBody(backends[0]!, deadlines);
    await expect.poll(async () => (await unary(client, { body: '1000' })).code, { timeout: 3000 }).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(deadlines.at(-1)!).toBeLessThanOrEqual(80);
    expect(await unary(client, { body: '10' })).toMatchObject({ ok: true, body: 'b0' });
  });
});

describe('fault injection (psm-interop fault_injection, gRFC A33)', () => {
  it('aborts the configured fraction of calls (50%, 400 calls, ±10%)', async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      fault: { abort: { grpc_status: grpc.status.RESOURCE_EXHAUSTED, percentage: { numerator: 50, denominator: 'HUNDRED' } } },
    }));
    const results: UnaryOutcome[] = [];
    for (let i = 0; i < 8; i++) results.push(...(await Promise.all(Array.from({ length: 50 }, () => unary(client)))));
    const aborted = results.filter((r) => r.code === grpc.status.RESOURCE_EXHAUSTED).length;
    expect(aborted + results.filter((r) => r.ok).length).toBe(400);
    // Binomial(400, 0.5): sd 0.025, so ±0.1 is 4 sigma.
    expect(Math.abs(aborted / 400 - 0.5)).toBeLessThan(0.1);
    // Aborted calls never reach the backend.
    expect(backends[0]!.seen).toHaveLength(400 - aborted);
  });

  it('takes abort and delay from request headers with header_abort / header_delay', async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      fault: { abort: { header_abort: {}, percentage: HUNDRED }, delay: { header_delay: {}, percentage: HUNDRED } },
    }));
    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });
    const aborted = await unary(client, { metadata: { 'x-envoy-fault-abort-grpc-request': String(grpc.status.UNAUTHENTICATED) } });
    expect(aborted.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(aborted.details).toContain('FI');
    // An HTTP abort status maps to gRPC per A33 (429 -> UNAVAILABLE).
    expect((await unary(client, { metadata: { 'x-envoy-fault-abort-request': '429' } })).code).toBe(grpc.status.UNAVAILABLE);
    const start = Date.now();
    expect(await unary(client, { metadata: { 'x-envoy-fault-delay-request': '60' } })).toMatchObject({ ok: true, body: 'b0' });
    expect(Date.now() - start).toBeGreaterThanOrEqual(55);
    expect(backends[0]!.seen).toHaveLength(2);
  });

  it("uses a route's typed_per_filter_config over the listener's empty fault filter (as istiod sends a VirtualService fault), delay then abort", async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      fault: {},
      routes: [
        {
          match: { path: '/meshlet.test.Echo/Other' },
          route: { cluster: 'c0' },
          typed_per_filter_config: {
            'envoy.filters.http.fault': {
              '@type': FAULT,
              delay: { fixed_delay: '0.05s', percentage: HUNDRED },
              abort: { grpc_status: grpc.status.UNAVAILABLE, percentage: HUNDRED },
            },
          },
        },
        { match: { prefix: '/' }, route: { cluster: 'c0' } },
      ],
    }));
    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });
    const start = Date.now();
    const faulted = await unary(client, { method: 'Other' });
    expect(faulted.code).toBe(grpc.status.UNAVAILABLE);
    expect(Date.now() - start).toBeGreaterThanOrEqual(45);
    expect(backends[0]!.seen.map((s) => s.method)).toEqual(['/meshlet.test.Echo/Echo']);
  });
});

describe('retries (psm-interop retry cases, gRFC A44)', () => {
  const retrying = (retry_on: string, num_retries: number) => (ports: number[]) => ({
    clusters: [{ name: 'c0', ports }],
    routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on, num_retries, retry_back_off: { base_interval: '0.001s' } } } }],
  });

  it('makes num_retries + 1 attempts, then returns the last status', async () => {
    const { backends, client } = await setup(1, retrying('unavailable', 2));
    backends[0]!.behave(failWith(grpc.status.UNAVAILABLE, 'still down'));
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE, details: 'still down' });
    expect(backends[0]!.seen).toHaveLength(3);
  });

  it('caps attempts at 5 whatever num_retries says, for every status retry_on names', async () => {
    const { backends, client } = await setup(1, retrying('cancelled,resource-exhausted', 10));
    backends[0]!.behave(failWith(grpc.status.RESOURCE_EXHAUSTED, 'busy'));
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
    expect(backends[0]!.seen).toHaveLength(5);
  });

  it('does not retry once the server has sent response headers (the attempt is committed)', async () => {
    const { backends, client } = await setup(1, retrying('unavailable', 3));
    backends[0]!.behave((call, callback) => {
      call.sendMetadata(new grpc.Metadata());
      setTimeout(() => callback({ code: grpc.status.UNAVAILABLE, details: 'after headers' }), 5);
    });
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE, details: 'after headers' });
    expect(backends[0]!.seen).toHaveLength(1);
  });
});
