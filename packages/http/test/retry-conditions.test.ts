import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { AttemptRequest } from '@meshlet/core';
import { deadPort, type Backend } from './helpers/backends.js';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import { meshHarness } from './helpers/harness.js';

/**
 * Every HTTP retry_on condition (envoy.config.route.v3.RetryPolicy, "x-envoy-retry-on") against
 * real loopback servers. Attempts are counted on the server, or via the CallObserver when the
 * upstream never sees them (connect failures).
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness();

/** A fast backoff so retries do not slow the suite (retry_back_off is covered on its own below). */
const FAST = { base_interval: '0.001s', max_interval: '0.002s' };

function retryRoute(policy: Record<string, unknown>, route: Record<string, unknown> = {}): Record<string, unknown>[] {
  return [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_back_off: FAST, ...policy }, ...route } }];
}

/** Answers `status` for the first `failures` requests, then 200 "ok-N" (N = the request's ordinal). */
function failFirst(b: Backend, failures: number, status: number, headers: Record<string, string | string[]> = {}): void {
  let n = 0;
  b.behave((_q, res) => {
    n++;
    if (n <= failures) res.writeHead(status, headers).end(`fail-${n}`);
    else res.writeHead(200).end(`ok-${n}`);
  });
}

async function single(policy: Record<string, unknown>, route: Record<string, unknown> = {}) {
  const h = await setup(1);
  applyMesh(h.source, {
    target: TARGET,
    clusters: [{ name: 'c', ports: [h.backends[0]!.port] }],
    virtualHost: { include_request_attempt_count: true },
    routes: retryRoute(policy, route),
  });
  return { ...h, b: h.backends[0]! };
}

const attemptCounts = (b: Backend) => b.seen.map((s) => s.headers['x-envoy-attempt-count']);

describe('retry_on conditions over real HTTP servers', () => {
  it('5xx: retries any 5xx until a success, within num_retries', async () => {
    const { dispatcher, b } = await single({ retry_on: '5xx', num_retries: 3 });
    failFirst(b, 2, 500);
    const r = await get(dispatcher);
    expect(r).toMatchObject({ status: 200, body: 'ok-3' });
    expect(attemptCounts(b)).toEqual(['1', '2', '3']);
  });

  it('gateway-error: retries 502, 503 and 504 but not 500', async () => {
    const { dispatcher, b } = await single({ retry_on: 'gateway-error', num_retries: 1 });
    for (const status of [502, 503, 504]) {
      b.seen.length = 0;
      failFirst(b, 1, status);
      expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'ok-2' });
      expect(b.seen).toHaveLength(2);
    }
    b.seen.length = 0;
    failFirst(b, 1, 500);
    expect(await get(dispatcher)).toMatchObject({ status: 500, body: 'fail-1' });
    expect(b.seen).toHaveLength(1);
  });

  it('reset: a connection destroyed before the response is retried', async () => {
    const { dispatcher, b } = await single({ retry_on: 'reset', num_retries: 2 });
    let n = 0;
    b.behave((req, res) => {
      if (++n === 1) req.socket.destroy();
      else res.writeHead(200).end(`ok-${n}`);
    });
    expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'ok-2' });
    expect(b.seen).toHaveLength(2);
  });

  it('reset: once response headers are through, a mid-body reset reaches the caller and is not retried', async () => {
    // Envoy: a 200 head is not retriable, so it is forwarded downstream; a later reset cannot be retried.
    const { dispatcher, b } = await single({ retry_on: 'reset,5xx', num_retries: 3 });
    b.behave((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const res = await request(`http://${TARGET}/`, { dispatcher });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
    expect(b.seen).toHaveLength(1);
  });

  it('reset: without a reset condition the reset is final (503 UR)', async () => {
    const { dispatcher, b } = await single({ retry_on: 'retriable-4xx', num_retries: 3 });
    b.behave((req) => req.socket.destroy());
    const r = await get(dispatcher);
    expect(r.status).toBe(503);
    expect(r.headers['x-meshlet-response-flags']).toBe('UR');
    expect(b.seen).toHaveLength(1);
  });

  it('connect-failure: retried onto a live host; exhausted retries give 503 UF,URX after num_retries + 1 attempts', async () => {
    const attempts: AttemptRequest[] = [];
    const h = await setup(1, { observer: { onAttemptStart: (a) => attempts.push(a) } });
    const [dead1, dead2] = [await deadPort(), await deadPort()];
    applyMesh(h.source, {
      target: TARGET,
      clusters: [
        { name: 'mixed', ports: [dead1, h.backends[0]!.port] },
        { name: 'dead', ports: [dead1, dead2] },
      ],
      routes: [
        { match: { prefix: '/dead' }, route: { cluster: 'dead', retry_policy: { retry_on: 'connect-failure', num_retries: 2, retry_back_off: FAST } } },
        { match: { prefix: '/' }, route: { cluster: 'mixed', retry_policy: { retry_on: 'connect-failure', num_retries: 2, retry_back_off: FAST, retry_host_predicate: [PREVIOUS_HOSTS], host_selection_retry_max_attempts: 5 } } },
      ],
    });
    for (let i = 0; i < 8; i++) expect(await get(h.dispatcher, `/m${i}`)).toMatchObject({ status: 200, body: 'b0' });
    expect(h.backends[0]!.seen).toHaveLength(8);

    attempts.length = 0;
    const r = await get(h.dispatcher, '/dead');
    expect(r.status).toBe(503);
    expect(r.headers['x-meshlet-response-flags']).toBe('UF,URX');
    expect(attempts.map((a) => a.attemptCount)).toEqual([1, 2, 3]);
  });

  it('connect-failure is not retried under retry_on 5xx-free conditions like retriable-4xx', async () => {
    const attempts: AttemptRequest[] = [];
    const h = await setup(0, { observer: { onAttemptStart: (a) => attempts.push(a) } });
    applyMesh(h.source, { target: TARGET, clusters: [{ name: 'c', ports: [await deadPort()] }], routes: retryRoute({ retry_on: 'retriable-4xx', num_retries: 3 }) });
    const r = await get(h.dispatcher);
    expect(r.status).toBe(503);
    expect(r.headers['x-meshlet-response-flags']).toBe('UF');
    expect(attempts).toHaveLength(1);
  });

  it('retriable-4xx: retries 409 only', async () => {
    const { dispatcher, b } = await single({ retry_on: 'retriable-4xx', num_retries: 1 });
    failFirst(b, 1, 409);
    expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'ok-2' });
    for (const status of [400, 404, 429, 503]) {
      b.seen.length = 0;
      failFirst(b, 1, status);
      expect((await get(dispatcher)).status).toBe(status);
      expect(b.seen).toHaveLength(1);
    }
  });

  it('retriable-status-codes: retries the listed codes, and only when the condition is in retry_on', async () => {
    const h = await setup(1);
    const b = h.backends[0]!;
    applyMesh(h.source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [b.port] }],
      routes: [
        { match: { prefix: '/on' }, route: { cluster: 'c', retry_policy: { retry_on: 'retriable-status-codes', retriable_status_codes: [418], num_retries: 2, retry_back_off: FAST } } },
        { match: { prefix: '/off' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', retriable_status_codes: [418], num_retries: 2, retry_back_off: FAST } } },
      ],
    });
    failFirst(b, 2, 418);
    expect(await get(h.dispatcher, '/on')).toMatchObject({ status: 200, body: 'ok-3' });
    expect(b.seen).toHaveLength(3);

    b.seen.length = 0;
    failFirst(b, 1, 420);
    expect((await get(h.dispatcher, '/on')).status).toBe(420); // not listed
    b.seen.length = 0;
    failFirst(b, 1, 418);
    expect((await get(h.dispatcher, '/off')).status).toBe(418); // listed, but retry_on lacks retriable-status-codes
    expect(b.seen).toHaveLength(1);
  });

  it('retriable-headers: a response header match is retried, even on a 200', async () => {
    const { dispatcher, b } = await single({
      retry_on: 'retriable-headers',
      num_retries: 2,
      retriable_headers: [{ name: 'x-upstream-retry', string_match: { exact: 'please' } }],
    });
    failFirst(b, 1, 200, { 'x-upstream-retry': 'please' });
    expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'ok-2' });
    expect(b.seen).toHaveLength(2);

    b.seen.length = 0;
    failFirst(b, 1, 503, { 'x-upstream-retry': 'no' });
    expect(await get(dispatcher)).toMatchObject({ status: 503, body: 'fail-1' });
    expect(b.seen).toHaveLength(1);
  });

  it('retriable-headers: a response header sent more than once is matched entry by entry (Envoy 1.39)', async () => {
    const { dispatcher, b } = await single({
      retry_on: 'retriable-headers',
      num_retries: 2,
      retriable_headers: [{ name: 'x-upstream-retry', string_match: { exact: 'please' } }],
    });
    // node:http writes an array value as one header line per entry.
    failFirst(b, 1, 503, { 'x-upstream-retry': ['later', 'please'] });
    expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'ok-2' });
    expect(b.seen).toHaveLength(2);

    // One line with a comma is one value: 'later,please' is not 'please'.
    b.seen.length = 0;
    failFirst(b, 1, 503, { 'x-upstream-retry': 'later,please' });
    expect(await get(dispatcher)).toMatchObject({ status: 503, body: 'fail-1' });
    expect(b.seen).toHaveLength(1);
  });

  it('num_retries caps the attempts (counted server-side), x-envoy-attempt-count counts them, and the last 5xx comes back as is', async () => {
    const { dispatcher, b } = await single({ retry_on: '5xx', num_retries: 3 });
    failFirst(b, 100, 503, { 'x-from': 'upstream' });
    const r = await get(dispatcher);
    // Envoy (URX): retries exhausted on a response, the last upstream response is forwarded unchanged.
    expect(r).toMatchObject({ status: 503, body: 'fail-4' });
    expect(r.headers['x-from']).toBe('upstream');
    expect(r.headers['x-meshlet-response-flags']).toBeUndefined();
    expect(attemptCounts(b)).toEqual(['1', '2', '3', '4']);
  });

  it('num_retries defaults to 1, and x-envoy-attempt-count is only sent with include_request_attempt_count', async () => {
    const h = await setup(1);
    const b = h.backends[0]!;
    applyMesh(h.source, { target: TARGET, clusters: [{ name: 'c', ports: [b.port] }], routes: retryRoute({ retry_on: '5xx' }) });
    failFirst(b, 100, 500);
    expect(await get(h.dispatcher)).toMatchObject({ status: 500, body: 'fail-2' });
    expect(b.seen).toHaveLength(2);
    expect(attemptCounts(b)).toEqual([undefined, undefined]);
  });

  it('retry_back_off: max_interval caps the wait and the backoff counts against the route timeout', async () => {
    const h = await setup(1);
    const b = h.backends[0]!;
    applyMesh(h.source, {
      target: TARGET,
      // 10 concurrent calls each hold a retry during their backoff: lift max_retries (default 3) above that.
      clusters: [{ name: 'c', ports: [b.port], cluster: { circuit_breakers: { thresholds: [{ max_retries: 100 }] } } }],
      routes: [
        // Capped at base (0.1 s): six backoffs take at most 0.6 s, well inside the 2 s route timeout. With
        // the default cap (10x base = 1 s) the exponential backoffs would average ~3.5 s and hit it.
        { match: { prefix: '/capped' }, route: { cluster: 'c', timeout: '2s', retry_policy: { retry_on: '5xx', num_retries: 6, retry_back_off: { base_interval: '0.1s', max_interval: '0.1s' } } } },
        // base 10 s uncapped (max defaults to 10x base): the first backoff is uniform in [0, 10 s), so a
        // 0.2 s route timeout almost always ends the call during the wait (UT) after a single attempt.
        { match: { prefix: '/slow' }, route: { cluster: 'c', timeout: '0.2s', retry_policy: { retry_on: '5xx', num_retries: 3, retry_back_off: { base_interval: '10s' } } } },
      ],
    });
    failFirst(b, 1000, 503);
    expect(await get(h.dispatcher, '/capped')).toMatchObject({ status: 503, body: 'fail-7' });
    expect(b.seen).toHaveLength(7);

    b.seen.length = 0;
    const rs = await Promise.all(Array.from({ length: 10 }, () => get(h.dispatcher, '/slow')));
    // Each call reaches a second attempt only if its backoff draw is < 0.2 s (p = 0.02): 10 calls,
    // expected UT count 9.8; requiring >= 7 fails with probability < 1e-4.
    const ut = rs.filter((r) => r.status === 504 && r.headers['x-meshlet-response-flags'] === 'UT');
    expect(ut.length).toBeGreaterThanOrEqual(7);
    expect(rs.every((r) => r.status === 504 || r.status === 503)).toBe(true);
    // A call whose first draw is short makes a second attempt and may still end UT during a later
    // wait, so `ut` does not bound the retries; extra attempts ~ Binomial(10, 0.02): more than 4 has p < 1e-6.
    expect(b.seen.length).toBeLessThanOrEqual(14);
  });

  it('the route timeout covers all attempts: slow attempts cut by per_try_timeout end in UT', async () => {
    const { dispatcher, b } = await single({ retry_on: '5xx', num_retries: 10, per_try_timeout: '0.1s' }, { timeout: '0.35s' });
    b.behave((_q, res) => setTimeout(() => res.writeHead(200).end('late'), 1000).unref());
    const r = await get(dispatcher);
    expect(r.status).toBe(504);
    expect(r.headers['x-meshlet-response-flags']).toBe('UT');
    // Each attempt lasts its 0.1 s per-try timeout: at least 2 and at most 4 start inside 0.35 s, far below 11.
    expect(b.seen.length).toBeGreaterThanOrEqual(2);
    expect(b.seen.length).toBeLessThanOrEqual(4);
    expect(attemptCounts(b)).toEqual(b.seen.map((_, i) => String(i + 1)));
  });

  it('a stream body larger than the 1 MiB replay buffer is sent once and not retried', async () => {
    const { dispatcher, b } = await single({ retry_on: '5xx', num_retries: 3 });
    b.behave((_q, res) => res.writeHead(503).end('down'));
    const size = 1024 * 1024 + 512 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const body = Readable.from((function* () {
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
    })());
    const res = await request(`http://${TARGET}/upload`, { dispatcher, method: 'POST', body });
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toBe('down');
    expect(b.seen).toHaveLength(1);
    expect(b.seen[0]!.body.length).toBe(size);
  });

  it('a stream body under the replay buffer is replayed on retry', async () => {
    const { dispatcher, b } = await single({ retry_on: '5xx', num_retries: 3 });
    failFirst(b, 2, 503);
    const payload = 'y'.repeat(200 * 1024);
    const res = await request(`http://${TARGET}/upload`, { dispatcher, method: 'POST', body: Readable.from([payload.slice(0, 1000), payload.slice(1000)]) });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(b.seen.map((s) => s.body.length)).toEqual([payload.length, payload.length, payload.length]);
  });
});
