import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { AttemptRequest, CallObserver, CallSummary } from '@meshlet/core';
import { deadPort, type Backend } from './helpers/backends.js';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import { eventually, meshHarness, sleep, type Reply } from './helpers/harness.js';
import { figures } from './helpers/reliabilityMesh.js';

/**
 * Endpoint faults through a real MeshDispatcher against real servers on 127.0.0.1: endpoints
 * returning 503s, resetting connections, killed during load (server closed, sockets destroyed),
 * destroyed mid-body, and hanging. With a retry policy the requests that can be retried succeed;
 * the rest fail fast with a local reply naming target, route and cluster
 * (`x-meshlet-response-flags` says why); outlier detection ejects the bad endpoint; breakers
 * overflow as configured. Every test counts sent / succeeded / failed and prints a RELIABILITY line.
 */
const TARGET = 'reviews.test:9080';
const { setup, get, many } = meshHarness();
const FAST = { base_interval: '0.001s', max_interval: '0.002s' };
/**
 * Envoy's default max_retries (3 concurrent retries per cluster) overflows under this much
 * concurrency: reliability-retry-storm.test.ts measures that. Here, as Istio does (it sets
 * max_retries to 2^32-1 unless a DestinationRule says otherwise), retries are not capped.
 */
const UNCAPPED_RETRIES = { circuit_breakers: { thresholds: [{ max_retries: 1_000_000 }] } };

interface Counts {
  sent: number;
  succeeded: number;
  failed: number;
  byStatus: Record<string, number>;
}

function count(rs: Reply[]): Counts {
  const c: Counts = { sent: rs.length, succeeded: 0, failed: 0, byStatus: {} };
  for (const r of rs) {
    if (r.status === 200) c.succeeded++;
    else c.failed++;
    const k = `${r.status}${r.headers['x-meshlet-response-flags'] ? ` ${String(r.headers['x-meshlet-response-flags'])}` : ''}`;
    c.byStatus[k] = (c.byStatus[k] ?? 0) + 1;
  }
  return c;
}

/** Attempts per upstream port and per logical call, from the CallObserver. */
function attemptLog() {
  const byPort: Record<number, number> = {};
  const perCall: number[] = [];
  const observer: CallObserver = {
    onAttemptStart: (a: AttemptRequest) => void (byPort[a.host.port] = (byPort[a.host.port] ?? 0) + 1),
    onCallEnd: (s: CallSummary) => void perCall.push(s.attempts.length),
  };
  return { observer, byPort, perCall };
}

const resetting = (b: Backend) => b.behave((req) => req.socket.destroy());
const failing503 = (b: Backend) => b.behave((_q, res) => res.writeHead(503).end(`${b.name}-503`));

describe('endpoint faults with a retry policy', () => {
  it('of four endpoints one answers 503 and one resets connections: every request succeeds via retries, and both bad endpoints are ejected', async () => {
    const log = attemptLog();
    // Four hosts, two bad: ejecting both leaves 50% healthy, not below Envoy's default
    // healthy_panic_threshold (50%). With three hosts and two ejected the balancer would panic
    // and spread over all hosts again, ejected or not, as Envoy does (retries still save them).
    const { backends, source, dispatcher } = await setup(4, { observer: log.observer });
    const [good, bad503, badReset, good2] = backends as [Backend, Backend, Backend, Backend];
    failing503(bad503);
    resetting(badReset);
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: backends.map((b) => b.port),
          cluster: {
            lb_policy: 'ROUND_ROBIN',
            ...UNCAPPED_RETRIES,
            // A reset counts as a 5xx (no split_external_local_origin_errors): both bad hosts are judged by consecutive_5xx.
            outlier_detection: { consecutive_5xx: 3, interval: '0.1s', base_ejection_time: '30s', max_ejection_percent: 100 },
          },
        },
      ],
      routes: [
        {
          name: 'r',
          match: { prefix: '/' },
          route: { cluster: 'c', retry_policy: { retry_on: '5xx,reset,connect-failure', num_retries: 2, retry_host_predicate: [PREVIOUS_HOSTS], retry_back_off: FAST } },
        },
      ],
    });
    const first = count(await many(150, 10, () => get(dispatcher)));
    expect(first, JSON.stringify(first)).toMatchObject({ sent: 150, succeeded: 150, failed: 0 });
    const badBefore = [bad503.seen.length, log.byPort[badReset.port] ?? 0];
    // consecutive_5xx = 3 per host; with concurrency a few more may be in flight when it trips.
    expect(badBefore[0]).toBeGreaterThanOrEqual(3);
    expect(badBefore[0]).toBeLessThanOrEqual(3 + 10);
    expect(badBefore[1]).toBeLessThanOrEqual(3 + 10);
    // Ejected: the next 150 requests never touch them and need no retry.
    const callsBefore = log.perCall.length;
    const second = count(await many(150, 10, () => get(dispatcher)));
    expect(second).toMatchObject({ sent: 150, succeeded: 150, failed: 0 });
    expect([bad503.seen.length, log.byPort[badReset.port] ?? 0]).toEqual(badBefore);
    expect(log.perCall.slice(callsBefore).every((n) => n === 1)).toBe(true);
    const attempts = log.perCall.slice(0, callsBefore);
    figures('endpoints: 503 + reset endpoints, retries and ejection', {
      sent: 300,
      succeeded: first.succeeded + second.succeeded,
      failed: first.failed + second.failed,
      attemptsToBadHostsBeforeEjection: { '503': badBefore[0], reset: badBefore[1] },
      attemptsToBadHostsAfterEjection: 0,
      attemptsPerRequestFirstRound: { max: Math.max(...attempts), mean: +(attempts.reduce((a, b) => a + b, 0) / attempts.length).toFixed(3) },
      goodHostsServed: good.seen.length + good2.seen.length,
    });
  });

  it('an endpoint killed during load (server closed, its sockets destroyed mid-request): retries move every request to the survivor', async () => {
    const log = attemptLog();
    const { backends, source, dispatcher } = await setup(2, { observer: log.observer });
    const [survivor, victim] = backends as [Backend, Backend];
    // Slow enough that requests are in flight on the victim when it dies.
    victim.behave((_q, res) => setTimeout(() => res.writeHead(200).end(victim.name), 15));
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: [survivor.port, victim.port],
          cluster: { lb_policy: 'ROUND_ROBIN', ...UNCAPPED_RETRIES, outlier_detection: { consecutive_5xx: 5, interval: '0.1s', base_ejection_time: '30s', max_ejection_percent: 100 } },
        },
      ],
      routes: [
        {
          match: { prefix: '/' },
          route: { cluster: 'c', timeout: '3s', retry_policy: { retry_on: 'reset,connect-failure,5xx', num_retries: 3, retry_host_predicate: [PREVIOUS_HOSTS], retry_back_off: FAST } },
        },
      ],
    });
    const results: Reply[] = [];
    let running = true;
    const workers = Array.from({ length: 8 }, async () => {
      while (running) results.push(await get(dispatcher).catch((e: Error) => ({ status: -1, body: e.message, headers: {} })));
    });
    await eventually(() => victim.seen.length >= 20);
    const inFlightAtKill = victim.seen.length - results.filter((r) => r.body === victim.name).length;
    const victimAttemptsAtKill = log.byPort[victim.port] ?? 0;
    await victim.close(); // closeAllConnections(): in-flight requests see their sockets destroyed
    const killedAt = results.length;
    await sleep(400);
    running = false;
    await Promise.all(workers);
    const c = count(results);
    expect(c.failed, JSON.stringify({ ...c, errors: results.filter((r) => r.status !== 200).slice(0, 3) })).toBe(0);
    expect(c.sent).toBeGreaterThan(killedAt + 20);
    expect(results.slice(killedAt).every((r) => r.body === survivor.name || r.body === victim.name)).toBe(true);
    const attemptsOnDeadVictim = (log.byPort[victim.port] ?? 0) - victimAttemptsAtKill;
    // After the kill: the in-flight resets plus connect failures until consecutive_5xx (5) ejects it.
    expect(attemptsOnDeadVictim).toBeLessThanOrEqual(inFlightAtKill + 5 + 8);
    figures('endpoints: endpoint killed during load', {
      sent: c.sent,
      succeeded: c.succeeded,
      failed: c.failed,
      sentAfterKill: c.sent - killedAt,
      inFlightOnVictimAtKill: inFlightAtKill,
      attemptsOnVictimAfterKill: attemptsOnDeadVictim,
      attemptsPerRequest: { max: Math.max(...log.perCall), mean: +(log.perCall.reduce((a, b) => a + b, 0) / log.perCall.length).toFixed(3) },
    });
  });

  it('a connection destroyed mid-body cannot be retried (the response started): the caller gets an error, not a hang, and the breaker slot is released', async () => {
    const log = attemptLog();
    const { backends, source, dispatcher } = await setup(1, { observer: log.observer });
    const b = backends[0]!;
    b.behave((req, res) => {
      res.writeHead(200, { 'content-length': '100' }).write('partial-');
      setTimeout(() => req.socket.destroy(), 10);
    });
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [b.port], cluster: { circuit_breakers: { thresholds: [{ max_requests: 1 }] } } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: 'reset,5xx', num_retries: 3, retry_back_off: FAST } } }],
    });
    const t0 = performance.now();
    const res = await request(`http://${TARGET}/`, { dispatcher });
    expect(res.statusCode).toBe(200);
    const bodyError = await res.body.text().then(
      () => undefined,
      (e: Error) => e,
    );
    const ms = performance.now() - t0;
    expect(bodyError).toBeInstanceOf(Error);
    expect(bodyError!.message).toMatch(/other side closed|terminated|socket|closed/i);
    expect(b.seen).toHaveLength(1); // committed: no retry once the response started
    expect(ms).toBeLessThan(1000);
    // max_requests 1: the slot came back when the body failed.
    b.behave((_q, r) => r.writeHead(200).end('ok'));
    await eventually(async () => (await get(dispatcher)).body === 'ok', 2000);
    figures('endpoints: destroyed mid-body', { failedAfterMs: Math.round(ms), error: bodyError!.message, upstreamAttempts: 1, nextRequest: 'ok (breaker slot released)' });
  });

  it('a hanging endpoint: per_try_timeout moves each request to another host; nothing waits for the route timeout', async () => {
    const log = attemptLog();
    const { backends, source, dispatcher } = await setup(2, { observer: log.observer });
    const [good, hung] = backends as [Backend, Backend];
    const held: Array<() => void> = [];
    hung.behave((_q, res) => held.push(() => res.destroy()));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [good.port, hung.port], cluster: { lb_policy: 'ROUND_ROBIN', ...UNCAPPED_RETRIES } }],
      routes: [
        {
          match: { prefix: '/' },
          route: { cluster: 'c', timeout: '5s', retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: '0.15s', retry_host_predicate: [PREVIOUS_HOSTS], retry_back_off: FAST } },
        },
      ],
    });
    const durations: number[] = [];
    const rs = await many(40, 8, async () => {
      const t0 = performance.now();
      const r = await get(dispatcher);
      durations.push(performance.now() - t0);
      return r;
    });
    held.forEach((f) => f());
    const c = count(rs);
    expect(c, JSON.stringify({ ...c, errors: rs.filter((r) => r.status !== 200).slice(0, 2) })).toMatchObject({ sent: 40, succeeded: 40, failed: 0 });
    expect(rs.every((r) => r.body === good.name)).toBe(true);
    const slow = durations.filter((d) => d >= 140);
    expect(slow.length).toBeGreaterThan(0); // some did try the hung host first
    expect(Math.max(...durations)).toBeLessThan(1000); // per-try (150 ms) + retry, far under the 5 s route timeout
    figures('endpoints: hanging endpoint with per_try_timeout', {
      sent: c.sent,
      succeeded: c.succeeded,
      failed: c.failed,
      hitHungHostFirst: slow.length,
      latencyMs: { max: Math.round(Math.max(...durations)), hungPath: Math.round(slow.reduce((a, b) => a + b, 0) / slow.length) },
      attemptsOnHungHost: log.byPort[hung.port] ?? 0,
    });
  });
});

describe('endpoint faults that cannot be retried fail fast with a clear local reply', () => {
  it('hanging without retries: the route timeout fails the call with 504 UT, naming route and cluster', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const held: Array<() => void> = [];
    backends[0]!.behave((_q, res) => held.push(() => res.destroy()));
    applyMesh(source, { target: TARGET, clusters: [{ name: 'slow-cluster', ports: [backends[0]!.port] }], routes: [{ name: 'slow-route', match: { prefix: '/' }, route: { cluster: 'slow-cluster', timeout: '0.2s' } }] });
    const durations: number[] = [];
    const rs = await many(10, 10, async () => {
      const t0 = performance.now();
      const r = await get(dispatcher);
      durations.push(performance.now() - t0);
      return r;
    });
    held.forEach((f) => f());
    for (const r of rs) {
      expect(r.status).toBe(504);
      expect(r.headers['x-meshlet-response-flags']).toBe('UT');
      expect(r.body).toContain(`meshlet: ${TARGET} route "slow-route" cluster "slow-cluster" : upstream request timeout (UT) after 1 attempt`);
    }
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(195);
    expect(Math.max(...durations)).toBeLessThan(600);
    figures('endpoints: hanging, no retries, route timeout 200 ms', { sent: 10, failedFast: 10, status: 504, flags: 'UT', latencyMs: { min: Math.round(Math.min(...durations)), max: Math.round(Math.max(...durations)) }, body: rs[0]!.body.trim() });
  });

  it('every endpoint refusing connections: retries are spent, then 503 UF fast, naming route, cluster and the attempts', async () => {
    const log = attemptLog();
    const { source, dispatcher } = await setup(0, { observer: log.observer });
    const dead = [await deadPort(), await deadPort()];
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'gone', ports: dead, cluster: UNCAPPED_RETRIES }],
      routes: [{ name: 'to-gone', match: { prefix: '/' }, route: { cluster: 'gone', retry_policy: { retry_on: 'connect-failure', num_retries: 2, retry_back_off: FAST } } }],
    });
    const durations: number[] = [];
    const rs = await many(20, 5, async () => {
      const t0 = performance.now();
      const r = await get(dispatcher);
      durations.push(performance.now() - t0);
      return r;
    });
    for (const r of rs) {
      expect(r.status).toBe(503);
      expect(String(r.headers['x-meshlet-response-flags'])).toMatch(/^UF(,URX)?$/);
      expect(r.body).toMatch(new RegExp(`^meshlet: ${TARGET} route "to-gone" cluster "gone" : upstream connection failure \\(UF(,URX)?\\) after 3 attempts; last: 127\\.0\\.0\\.1:\\d+ `));
    }
    expect(log.perCall.every((n) => n === 3)).toBe(true);
    expect(Math.max(...durations)).toBeLessThan(500);
    figures('endpoints: all endpoints refuse connections', {
      sent: 20,
      failedFast: 20,
      status: 503,
      flags: String(rs[0]!.headers['x-meshlet-response-flags']),
      attemptsPerRequest: 3,
      latencyMs: { max: Math.round(Math.max(...durations)) },
      body: rs[0]!.body.trim(),
    });
  });

  it('every endpoint answering 503: retried up to num_retries, then the upstream 503 is returned as is (Envoy), not a local reply', async () => {
    const { backends, source, dispatcher } = await setup(2);
    backends.forEach(failing503);
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: backends.map((b) => b.port), cluster: UNCAPPED_RETRIES }],
      virtualHost: { include_request_attempt_count: true },
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: FAST } } }],
    });
    const rs = await many(20, 5, () => get(dispatcher));
    expect(rs.every((r) => r.status === 503 && /^b[01]-503$/.test(r.body) && r.headers['x-meshlet-response-flags'] === undefined)).toBe(true);
    expect(backends[0]!.seen.length + backends[1]!.seen.length).toBe(60);
  });

  it('breakers under a hanging endpoint: max_requests 4 admits 4, the other 6 fail at once with 503 UO; the 4 time out UT', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const held: Array<() => void> = [];
    backends[0]!.behave((_q, res) => held.push(() => res.destroy()));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port], cluster: { circuit_breakers: { thresholds: [{ max_requests: 4 }] } } }],
      routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'c', timeout: '0.3s' } }],
    });
    const timed = Array.from({ length: 10 }, async () => {
      const t0 = performance.now();
      const r = await get(dispatcher);
      return { r, ms: performance.now() - t0 };
    });
    const out = await Promise.all(timed);
    held.forEach((f) => f());
    const uo = out.filter((o) => o.r.headers['x-meshlet-response-flags'] === 'UO');
    const ut = out.filter((o) => o.r.headers['x-meshlet-response-flags'] === 'UT');
    expect(uo).toHaveLength(6);
    expect(ut).toHaveLength(4);
    expect(uo.every((o) => o.r.status === 503 && o.ms < 150 && o.r.body.includes('cluster "c"'))).toBe(true);
    expect(ut.every((o) => o.r.status === 504)).toBe(true);
    expect(backends[0]!.seen).toHaveLength(4);
    figures('endpoints: breaker max_requests 4 in front of a hanging endpoint', {
      sent: 10,
      overflowUO: uo.length,
      timedOutUT: ut.length,
      overflowLatencyMsMax: Math.round(Math.max(...uo.map((o) => o.ms))),
      upstreamSaw: backends[0]!.seen.length,
      overflowBody: uo[0]!.r.body.trim(),
    });
  });
});
