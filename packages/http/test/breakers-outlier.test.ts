import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { CallSummary } from '@meshlet/core';
import { deadPort, type Backend } from './helpers/backends.js';
import { applyMesh, lbEndpoint } from './helpers/meshConfig.js';
import { eventually, meshHarness, sleep, type Reply } from './helpers/harness.js';

/**
 * Circuit breakers (concurrency limits, Envoy CircuitBreakers.Thresholds), outlier detection,
 * ring-hash stickiness and priority failover, against real loopback servers. Outlier timings
 * are shortened (interval 0.1 s) so each test takes well under a second.
 */
const TARGET = 'reviews.test:9080';
const { setup, get, many } = meshHarness();

const FAST = { base_interval: '0.001s', max_interval: '0.002s' };

function tally(rs: Reply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) out[r.body] = (out[r.body] ?? 0) + 1;
  return out;
}

/** First attempts are held until `n` have arrived, then all answered 503; later attempts are held in `retries`. */
function holdThen503(b: Backend, n: number): { retries: Array<() => void> } {
  const first: Array<() => void> = [];
  const retries: Array<() => void> = [];
  b.behave((req, res) => {
    if (req.headers['x-envoy-attempt-count'] !== '1') {
      retries.push(() => res.writeHead(200).end('retried'));
      return;
    }
    first.push(() => res.writeHead(503).end('down'));
    if (first.length === n) first.forEach((f) => f());
  });
  return { retries };
}

describe('circuit breakers over real HTTP servers', () => {
  it('max_pending_requests: with every connection busy, one request waits as pending and the next overflows with 503 UO', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const release: Array<() => void> = [];
    backends[0]!.behave((_q, res) => release.push(() => res.writeHead(200).end('b0')));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port], cluster: { circuit_breakers: { thresholds: [{ max_connections: 2, max_pending_requests: 1 }] } } }],
    });
    const busy = [get(dispatcher), get(dispatcher)];
    await eventually(() => release.length === 2);
    const waiting = get(dispatcher); // both connections busy: this one is pending
    await new Promise((r) => setTimeout(r, 20));
    const overflow = await get(dispatcher); // pending limit reached
    expect([overflow.status, overflow.headers['x-meshlet-response-flags']]).toEqual([503, 'UO']);
    expect(overflow.body).toMatch(/max_pending_requests/);
    backends[0]!.behave((_q, res) => res.writeHead(200).end('b0'));
    release.splice(0).forEach((r) => r());
    expect((await Promise.all([...busy, waiting])).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(backends[0]!.seen).toHaveLength(3); // the overflow never reached the upstream
    expect(await get(dispatcher)).toMatchObject({ status: 200 }); // slots came back
  });

  it('max_requests: overflow is 503 UO while the limit is reached, per cluster, and slots come back when requests end', async () => {
    const { backends, source, dispatcher } = await setup(2);
    const release: Array<() => void> = [];
    backends[0]!.behave((_q, res) => release.push(() => res.writeHead(200).end('b0')));
    applyMesh(source, {
      target: TARGET,
      clusters: [
        { name: 'limited', ports: [backends[0]!.port], cluster: { circuit_breakers: { thresholds: [{ max_requests: 3 }] } } },
        { name: 'other', ports: [backends[1]!.port] },
      ],
      routes: [
        { match: { prefix: '/other' }, route: { cluster: 'other' } },
        { match: { prefix: '/' }, route: { cluster: 'limited' } },
      ],
    });
    const inflight = [get(dispatcher), get(dispatcher), get(dispatcher)];
    await eventually(() => release.length === 3);
    const overflow = await Promise.all([get(dispatcher), get(dispatcher)]);
    expect(overflow.map((r) => [r.status, r.headers['x-meshlet-response-flags']])).toEqual([[503, 'UO'], [503, 'UO']]);
    expect(backends[0]!.seen).toHaveLength(3); // overflow never reached the upstream
    expect(await get(dispatcher, '/other')).toMatchObject({ status: 200, body: 'b1' }); // another cluster's breaker
    release.splice(0).forEach((r) => r());
    expect((await Promise.all(inflight)).map((r) => r.status)).toEqual([200, 200, 200]);
    backends[0]!.behave((_q, res) => res.writeHead(200).end('b0'));
    expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'b0' });
  });

  it('max_requests: a response whose body is still streaming holds its slot until the body ends (Envoy active request)', async () => {
    const summaries: CallSummary[] = [];
    const { backends, source, dispatcher } = await setup(1, { observer: { onCallEnd: (s) => summaries.push(s) } });
    let finish: (() => void) | undefined;
    backends[0]!.behave((_q, res) => {
      res.writeHead(200).write('slow:');
      finish = () => res.end('done');
    });
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backends[0]!.port], cluster: { circuit_breakers: { thresholds: [{ max_requests: 1 }] } } }] });
    const slow = await request(`http://${TARGET}/`, { dispatcher });
    expect(slow.statusCode).toBe(200);
    await eventually(() => finish !== undefined);
    // Headers are back, the body is not: still one active request, so the next one overflows.
    const overflow = await get(dispatcher);
    expect([overflow.status, overflow.headers['x-meshlet-response-flags']]).toEqual([503, 'UO']);
    expect(backends[0]!.seen).toHaveLength(1);
    expect(summaries.map((s) => s.status)).toEqual([503]);
    finish!();
    expect(await slow.body.text()).toBe('slow:done');
    // Released when the body ended (no leak): the next request gets the slot.
    backends[0]!.behave((_q, res) => res.writeHead(200).end('b0'));
    expect(await get(dispatcher)).toMatchObject({ status: 200, body: 'b0' });
    expect(summaries.map((s) => s.status)).toEqual([503, 200, 200]);
  });

  it('max_retries: retries beyond the concurrent limit are not made; the upstream response is returned as is', async () => {
    const summaries: CallSummary[] = [];
    const { backends, source, dispatcher } = await setup(1, { observer: { onCallEnd: (s) => summaries.push(s) } });
    const b = backends[0]!;
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [b.port], cluster: { circuit_breakers: { thresholds: [{ max_retries: 1 }] } } }],
      virtualHost: { include_request_attempt_count: true },
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 3, retry_back_off: FAST } } }],
    });
    const { retries } = holdThen503(b, 4);
    const calls = Array.from({ length: 4 }, () => get(dispatcher));
    await eventually(() => retries.length === 1 && b.seen.length === 5);
    await sleep(50); // give any (wrong) extra retry the chance to show up
    expect(retries).toHaveLength(1);
    retries[0]!();
    const rs = await Promise.all(calls);
    // Envoy: RetryStatus::NoOverflow forwards the upstream response (and logs UO); it is not a local reply.
    expect(tally(rs)).toEqual({ retried: 1, down: 3 });
    expect(rs.filter((r) => r.body === 'down').every((r) => r.status === 503 && r.headers['x-meshlet-response-flags'] === undefined)).toBe(true);
    expect(summaries.filter((s) => s.flags.includes('UO'))).toHaveLength(3);
  });

  it('max_retries: a reset whose retry overflows is a local 503 flagged UF,UO', async () => {
    const { source, dispatcher } = await setup(0);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [await deadPort()], cluster: { circuit_breakers: { thresholds: [{ max_retries: 0 }] } } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: 'connect-failure', num_retries: 3, retry_back_off: FAST } } }],
    });
    const r = await get(dispatcher);
    expect(r.status).toBe(503);
    expect(r.headers['x-meshlet-response-flags']).toBe('UF,UO');
  });

  it('retry_budget: concurrent retries are capped at budget_percent of active requests (min_retry_concurrency floor)', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const b = backends[0]!;
    applyMesh(source, {
      target: TARGET,
      // 25% of 8 outstanding requests = 2 concurrent retries; max_retries (1) is replaced by the budget.
      clusters: [{ name: 'c', ports: [b.port], cluster: { circuit_breakers: { thresholds: [{ max_retries: 1, retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: 1 } }] } } }],
      virtualHost: { include_request_attempt_count: true },
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 3, retry_back_off: FAST } } }],
    });
    const { retries } = holdThen503(b, 8);
    const calls = Array.from({ length: 8 }, () => get(dispatcher));
    await eventually(() => retries.length === 2 && b.seen.length === 10);
    await sleep(50);
    expect(retries).toHaveLength(2);
    retries.forEach((r) => r());
    expect(tally(await Promise.all(calls))).toEqual({ retried: 2, down: 6 });
  });
});

describe('outlier detection over real HTTP servers', () => {
  it('ejects a failing host and returns it after base_ejection_time', async () => {
    const { backends, source, dispatcher } = await setup(2);
    backends[1]!.behave((_q, res) => res.writeHead(500).end('bad'));
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: [backends[0]!.port, backends[1]!.port],
          cluster: { lb_policy: 'ROUND_ROBIN', outlier_detection: { consecutive_5xx: 3, interval: '0.1s', base_ejection_time: '0.3s', max_ejection_percent: 100 } },
        },
      ],
    });
    // Taken before the requests that get b1 ejected, so the ejection (at its third 5xx) is no earlier:
    // b1's return, at least base_ejection_time after the ejection, is at least that long after this.
    // (Taken after them, a slow machine made the ejection precede it by 100+ ms.)
    const ejectedAt = performance.now();
    await many(12, 1, () => get(dispatcher));
    expect(backends[1]!.seen).toHaveLength(3);
    backends[1]!.behave((_q, res) => res.writeHead(200).end('b1'));
    // While ejected, everything goes to b0.
    expect((await many(10, 5, () => get(dispatcher))).every((r) => r.body === 'b0')).toBe(true);
    // After base_ejection_time (and the next interval sweep) b1 is back in rotation.
    await eventually(async () => (await get(dispatcher)).body === 'b1', 3000, 10);
    expect(performance.now() - ejectedAt).toBeGreaterThanOrEqual(300 - 5);
    const after = tally(await many(20, 5, () => get(dispatcher)));
    expect(after.b1).toBeGreaterThan(0);
  });

  it('max_ejection_percent is respected with 3 failing hosts (50%: only one is ejected)', async () => {
    const { backends, source, dispatcher } = await setup(3);
    for (const b of backends) b.behave((_q, res) => res.writeHead(500).end(b.name));
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: backends.map((b) => b.port),
          cluster: { lb_policy: 'ROUND_ROBIN', outlier_detection: { consecutive_5xx: 2, interval: '0.1s', base_ejection_time: '30s', max_ejection_percent: 50 } },
        },
      ],
    });
    await many(30, 1, () => get(dispatcher));
    const before = backends.map((b) => b.seen.length);
    const rs = await many(20, 1, () => get(dispatcher));
    const counts = tally(rs);
    // (1 + 1) / 3 = 67% > 50%: a second ejection is refused, so exactly one host is out.
    expect(Object.keys(counts).sort()).toHaveLength(2);
    const ejected = backends.filter((b, i) => b.seen.length === before[i]);
    expect(ejected).toHaveLength(1);
    expect(ejected[0]!.seen).toHaveLength(2);
  });

  it('consecutive_gateway_failure ejects on 502/503/504 only (enforcing 100), independently of consecutive_5xx', async () => {
    const { backends, source, dispatcher } = await setup(3);
    backends[1]!.behave((_q, res) => res.writeHead(502).end('gw'));
    backends[2]!.behave((_q, res) => res.writeHead(500).end('err'));
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: backends.map((b) => b.port),
          cluster: {
            lb_policy: 'ROUND_ROBIN',
            outlier_detection: {
              consecutive_5xx: 1000,
              consecutive_gateway_failure: 3,
              enforcing_consecutive_gateway_failure: 100,
              interval: '0.1s',
              base_ejection_time: '30s',
              max_ejection_percent: 100,
            },
          },
        },
      ],
    });
    await many(30, 1, () => get(dispatcher));
    expect(backends[1]!.seen).toHaveLength(3);
    const more = tally(await many(20, 1, () => get(dispatcher)));
    expect(more.gw).toBeUndefined();
    expect(more.err).toBeGreaterThanOrEqual(9); // the 500 host is still in rotation
  });

  it('failure_percentage ejects a host over the threshold at the interval sweep, not hosts under it', async () => {
    const { backends, source, dispatcher } = await setup(3);
    const failEvery = (b: Backend, fails: (n: number) => boolean) => {
      let n = 0;
      b.behave((_q, res) => (fails(++n) ? res.writeHead(500).end(`${b.name}-fail`) : res.writeHead(200).end(b.name)));
    };
    failEvery(backends[1]!, (n) => n % 5 !== 0); // 80% failures
    failEvery(backends[2]!, (n) => n % 5 === 0); // 20% failures
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: backends.map((b) => b.port),
          cluster: {
            lb_policy: 'ROUND_ROBIN',
            outlier_detection: {
              consecutive_5xx: 1000,
              consecutive_gateway_failure: 1000,
              interval: '0.2s',
              base_ejection_time: '30s',
              max_ejection_percent: 100,
              failure_percentage_threshold: 50,
              enforcing_failure_percentage: 100,
              failure_percentage_minimum_hosts: 3,
              failure_percentage_request_volume: 10,
            },
          },
        },
      ],
    });
    // Keep traffic flowing until b1 drops out of rotation (bounded).
    let lastB1 = -1;
    await eventually(async () => {
      await many(15, 3, () => get(dispatcher));
      const seen = backends[1]!.seen.length;
      const stopped = seen === lastB1;
      lastB1 = seen;
      return stopped;
    }, 4000, 0);
    expect(backends[1]!.seen.length).toBeGreaterThanOrEqual(10); // request volume reached before the sweep judged it
    // Two more full intervals: b2 (20% < 50%) and b0 stay in.
    const b2Before = backends[2]!.seen.length;
    for (let i = 0; i < 5; i++) {
      await many(9, 3, () => get(dispatcher));
      await sleep(100);
    }
    expect(backends[1]!.seen.length).toBe(lastB1);
    expect(backends[2]!.seen.length).toBeGreaterThan(b2Before + 10);
  });
});

describe('load balancing and failover over real HTTP servers', () => {
  it('RING_HASH with a header hash_policy: a header value always reaches the same backend; values spread', async () => {
    const { backends, source, dispatcher } = await setup(3);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: backends.map((b) => b.port), cluster: { lb_policy: 'RING_HASH' } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', hash_policy: [{ header: { header_name: 'x-user' } }] } }],
    });
    const home = new Map<string, Set<string>>();
    for (let round = 0; round < 5; round++) {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, u) => get(dispatcher, '/', { 'x-user': `user-${u}` })));
      rs.forEach((r, u) => {
        const set = home.get(`user-${u}`) ?? new Set<string>();
        set.add(r.body);
        home.set(`user-${u}`, set);
      });
    }
    // 20 users x 5 requests: every user stuck to one backend.
    expect([...home.values()].every((s) => s.size === 1)).toBe(true);
    // 20 users on 3 equally weighted hosts all landing on one host: p ~ 3 * 3^-20.
    const used = new Set([...home.values()].map((s) => [...s][0]));
    expect(used.size).toBeGreaterThanOrEqual(2);
  });

  it('RING_HASH with a source_ip hash_policy (Istio useSourceIp): every request of this process reaches one backend, as a pod behind its sidecar does', async () => {
    const { backends, source, dispatcher } = await setup(3);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: backends.map((b) => b.port), cluster: { lb_policy: 'RING_HASH' } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', hash_policy: [{ connection_properties: { source_ip: true } }] } }],
    });
    const bodies = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const rs = await Promise.all(Array.from({ length: 15 }, (_, i) => get(dispatcher, `/r${i}`, { 'x-user': `user-${i}` })));
      for (const r of rs) bodies.add(r.body);
    }
    // 60 requests, random picks over 3 hosts would all land on one with p = 3 * 3^-60.
    expect(bodies.size).toBe(1);
  });

  it('retry_priority previous_priorities (Istio retryRemoteLocalities): a retry leaves the priority that failed and reaches P1; without it the retry stays on P0', async () => {
    const { backends, source, dispatcher } = await setup(2);
    const [p0, p1] = backends as [Backend, Backend];
    p0.behave((_q, res) => res.writeHead(503).end('p0 down'));
    const previousPriorities = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: 1 },
    };
    const push = (retryPriority: boolean) =>
      applyMesh(source, {
        target: TARGET,
        clusters: [{ name: 'c', ports: [], endpoints: [{ lb_endpoints: [lbEndpoint(p0.port)] }, { priority: 1, lb_endpoints: [lbEndpoint(p1.port)] }] }],
        routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, ...(retryPriority ? { retry_priority: previousPriorities } : {}) } } }],
      });
    push(true);
    // One at a time: four concurrent retries would meet the retry circuit breaker (max_retries, default 3).
    const withPriority = await many(20, 1, () => get(dispatcher));
    expect(withPriority.map((r) => `${r.status} ${r.body}`)).toEqual(Array(20).fill('200 b1'));
    expect(p0.seen).toHaveLength(20); // every first attempt went to P0 (all of the load is there)
    push(false);
    const without = await many(20, 1, () => get(dispatcher));
    expect(without.map((r) => r.status)).toEqual(Array(20).fill(503));
    expect(p1.seen).toHaveLength(20);
  });

  it('priority failover by health_status: UNHEALTHY endpoints are excluded, P1 takes over, and traffic returns to P0', async () => {
    const { backends, source, dispatcher } = await setup(3);
    const [p0a, p0b, p1] = backends.map((b) => b.port) as [number, number, number];
    const push = (a: string, b: string) =>
      applyMesh(source, {
        target: TARGET,
        clusters: [
          {
            name: 'c',
            ports: [],
            endpoints: [
              { priority: 0, lb_endpoints: [lbEndpoint(p0a, { health_status: a }), lbEndpoint(p0b, { health_status: b })] },
              { priority: 1, lb_endpoints: [lbEndpoint(p1)] },
            ],
          },
        ],
      });

    push('HEALTHY', 'HEALTHY');
    expect(tally(await many(30, 5, () => get(dispatcher))).b2).toBeUndefined();

    push('UNHEALTHY', 'UNHEALTHY');
    expect(tally(await many(30, 5, () => get(dispatcher)))).toEqual({ b2: 30 });

    // One of two P0 hosts healthy: P0 gets min(100, 1.4 x 50%) = 70%, P1 the other 30%; b0 nothing.
    push('UNHEALTHY', 'HEALTHY');
    const split = tally(await many(400, 20, () => get(dispatcher)));
    expect(split.b0).toBeUndefined();
    // Binomial(400, 0.3): sd ~ 9.2, so 120 ± 37 is 4 sd.
    expect(split.b2).toBeGreaterThan(83);
    expect(split.b2).toBeLessThan(157);

    push('HEALTHY', 'UNKNOWN'); // UNKNOWN counts as healthy
    expect(tally(await many(30, 5, () => get(dispatcher))).b2).toBeUndefined();
  });

  it('priority failover by outlier ejection: dead P0 endpoints are ejected and P1 serves every request', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const [d0, d1] = [await deadPort(), await deadPort()];
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: [],
          endpoints: [
            { priority: 0, lb_endpoints: [lbEndpoint(d0), lbEndpoint(d1)] },
            { priority: 1, lb_endpoints: [lbEndpoint(backends[0]!.port)] },
          ],
          // Not split: a connect failure counts as a 503 (consecutive_5xx).
          cluster: { outlier_detection: { consecutive_5xx: 1, interval: '0.1s', base_ejection_time: '30s', max_ejection_percent: 100 } },
        },
      ],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: 'connect-failure', num_retries: 3, retry_back_off: FAST } } }],
    });
    const rs = await many(20, 1, () => get(dispatcher));
    expect(rs.every((r) => r.status === 200 && r.body === 'b0')).toBe(true);
  });

  it('priority failover by outlier ejection and back: failing P0 hosts return after base_ejection_time', async () => {
    const { backends, source, dispatcher } = await setup(3);
    for (const b of backends.slice(0, 2)) b.behave((_q, res) => res.writeHead(503).end('p0-down'));
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: [],
          endpoints: [
            { priority: 0, lb_endpoints: [lbEndpoint(backends[0]!.port), lbEndpoint(backends[1]!.port)] },
            { priority: 1, lb_endpoints: [lbEndpoint(backends[2]!.port)] },
          ],
          cluster: { outlier_detection: { consecutive_5xx: 2, interval: '0.1s', base_ejection_time: '0.3s', max_ejection_percent: 100 } },
        },
      ],
    });
    await eventually(async () => (await many(5, 1, () => get(dispatcher))).every((r) => r.body === 'b2'), 3000, 0);
    expect(tally(await many(20, 5, () => get(dispatcher)))).toEqual({ b2: 20 });
    for (const b of backends.slice(0, 2)) b.behave((_q, res) => res.writeHead(200).end(b.name));
    await eventually(async () => {
      const t = tally(await many(10, 5, () => get(dispatcher)));
      return t.b2 === undefined && (t.b0 ?? 0) + (t.b1 ?? 0) === 10;
    }, 3000, 20);
  });
});
