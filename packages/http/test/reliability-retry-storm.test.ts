import { describe, expect, it } from 'vitest';
import type { CallObserver } from '@meshlet/core';
import { deadPort, type Backend } from './helpers/backends.js';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import { meshHarness } from './helpers/harness.js';
import { figures } from './helpers/reliabilityMesh.js';

/**
 * No retry storms: with every endpoint failing (503s, or nothing listening) under concurrent
 * load, a retry policy must not multiply the load on a failing service. Measured two ways —
 * server-side (requests and concurrent retries the backends saw, by `x-envoy-attempt-count`) and
 * client-side (a CallObserver passed as `observer`: attempts per logical call, retries in flight,
 * UO overflows) — and asserted:
 * - attempts per logical request <= num_retries + 1;
 * - retries in flight at once <= max_retries (Envoy default 3), or with a retry_budget
 *   <= max(min_retry_concurrency, budget_percent of active requests).
 */
const TARGET = 'reviews.test:9080';
const { setup, get, many } = meshHarness();
const FAST = { base_interval: '0.001s', max_interval: '0.002s' };
const REQUESTS = 300;
const CONCURRENCY = 50;
const NUM_RETRIES = 3;

interface Meter {
  observer: CallObserver;
  attemptsPerCall: number[];
  retriesInFlight: number;
  maxRetriesInFlight: number;
  callsInFlight: number;
  maxCallsInFlight: number;
  overflows: number;
  flags: Record<string, number>;
}

function meter(): Meter {
  const m: Meter = {
    attemptsPerCall: [],
    retriesInFlight: 0,
    maxRetriesInFlight: 0,
    callsInFlight: 0,
    maxCallsInFlight: 0,
    overflows: 0,
    flags: {},
    observer: {
      onAttemptStart(a) {
        if (a.attemptCount === 1) m.maxCallsInFlight = Math.max(m.maxCallsInFlight, ++m.callsInFlight);
        else m.maxRetriesInFlight = Math.max(m.maxRetriesInFlight, ++m.retriesInFlight);
      },
      onAttemptEnd(a) {
        if (a.attemptCount > 1) m.retriesInFlight--;
      },
      onCallEnd(s) {
        if (s.attempts.length > 0) m.callsInFlight--;
        m.attemptsPerCall.push(s.attempts.length);
        if (s.flags.includes('UO')) m.overflows++;
        const k = s.flags.join(',') || `status ${s.status}`;
        m.flags[k] = (m.flags[k] ?? 0) + 1;
      },
    },
  };
  return m;
}

/** A backend answering 503 after `delayMs`, counting what it sees: requests, and retries in flight by x-envoy-attempt-count. */
function failingServer(b: Backend, delayMs: number) {
  const seen = { requests: 0, retries: 0, retriesInFlight: 0, maxRetriesInFlight: 0, maxAttemptCount: 0 };
  b.behave((req, res) => {
    const n = Number(req.headers['x-envoy-attempt-count'] ?? 1);
    seen.requests++;
    seen.maxAttemptCount = Math.max(seen.maxAttemptCount, n);
    if (n > 1) {
      seen.retries++;
      seen.maxRetriesInFlight = Math.max(seen.maxRetriesInFlight, ++shared.retriesInFlight);
    }
    setTimeout(() => {
      if (n > 1) shared.retriesInFlight--;
      res.writeHead(503).end('down');
    }, delayMs);
  });
  return seen;
}
const shared = { retriesInFlight: 0 };

function summarize(m: Meter) {
  const a = m.attemptsPerCall;
  return {
    requests: a.length,
    attempts: a.reduce((x, y) => x + y, 0),
    attemptsPerRequest: { max: Math.max(...a), mean: +(a.reduce((x, y) => x + y, 0) / a.length).toFixed(3) },
    maxRetriesInFlight: m.maxRetriesInFlight,
    maxCallsInFlight: m.maxCallsInFlight,
    retryOverflowsUO: m.overflows,
    outcomes: m.flags,
  };
}

async function allFailing503(cluster: Record<string, unknown>) {
  const m = meter();
  const { backends, source, dispatcher } = await setup(3, { observer: m.observer });
  shared.retriesInFlight = 0;
  const servers = backends.map((b) => failingServer(b, 5));
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'c', ports: backends.map((b) => b.port), cluster }],
    virtualHost: { include_request_attempt_count: true },
    routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: NUM_RETRIES, retry_host_predicate: [PREVIOUS_HOSTS], retry_back_off: FAST } } }],
  });
  const rs = await many(REQUESTS, CONCURRENCY, () => get(dispatcher));
  const server = {
    requests: servers.reduce((x, s) => x + s.requests, 0),
    retries: servers.reduce((x, s) => x + s.retries, 0),
    maxRetriesInFlight: Math.max(...servers.map((s) => s.maxRetriesInFlight)),
    maxAttemptCount: Math.max(...servers.map((s) => s.maxAttemptCount)),
  };
  return { m, rs, server };
}

describe('retry storms: every endpoint failing under concurrent load', () => {
  it('503 everywhere, Envoy default breakers (max_retries 3): at most 3 retries in flight, attempts per request <= num_retries + 1', async () => {
    const { m, rs, server } = await allFailing503({});
    expect(rs.every((r) => r.status === 503)).toBe(true);
    const s = summarize(m);
    expect(s.requests).toBe(REQUESTS);
    expect(s.attemptsPerRequest.max).toBeLessThanOrEqual(NUM_RETRIES + 1);
    expect(m.maxRetriesInFlight).toBeLessThanOrEqual(3);
    expect(server.maxRetriesInFlight).toBeLessThanOrEqual(3);
    expect(server.maxAttemptCount).toBeLessThanOrEqual(NUM_RETRIES + 1);
    expect(server.requests).toBe(s.attempts); // both sides agree on every attempt
    expect(s.retryOverflowsUO).toBeGreaterThan(0); // the breaker did act under this load
    // Load amplification: without a cap it would be 4x; the breaker keeps it near 1x.
    expect(server.requests / REQUESTS).toBeLessThan(2);
    figures('retry storm: 503 everywhere, default max_retries 3', { concurrency: CONCURRENCY, numRetries: NUM_RETRIES, ...s, server, amplification: +(server.requests / REQUESTS).toFixed(3) });
  });

  it('503 everywhere with a retry_budget (20%, min 3): retries in flight <= max(3, 20% of active requests)', async () => {
    const { m, rs, server } = await allFailing503({ circuit_breakers: { thresholds: [{ retry_budget: { budget_percent: { value: 20 }, min_retry_concurrency: 3 } }] } });
    expect(rs.every((r) => r.status === 503)).toBe(true);
    const s = summarize(m);
    const bound = Math.max(3, Math.ceil(0.2 * CONCURRENCY));
    expect(s.attemptsPerRequest.max).toBeLessThanOrEqual(NUM_RETRIES + 1);
    expect(m.maxRetriesInFlight).toBeLessThanOrEqual(bound);
    expect(server.maxRetriesInFlight).toBeLessThanOrEqual(bound);
    expect(server.requests).toBe(s.attempts);
    figures('retry storm: 503 everywhere, retry_budget 20% min 3', { concurrency: CONCURRENCY, numRetries: NUM_RETRIES, bound, ...s, server, amplification: +(server.requests / REQUESTS).toFixed(3) });
  });

  it('503 everywhere, retries uncapped (Istio sets max_retries to 2^32-1): exactly num_retries + 1 attempts per request, never more', async () => {
    const { m, rs, server } = await allFailing503({ circuit_breakers: { thresholds: [{ max_retries: 1_000_000 }] } });
    expect(rs.every((r) => r.status === 503)).toBe(true);
    const s = summarize(m);
    expect(m.attemptsPerCall.every((n) => n === NUM_RETRIES + 1)).toBe(true);
    expect(server.requests).toBe(REQUESTS * (NUM_RETRIES + 1));
    expect(s.retryOverflowsUO).toBe(0);
    figures('retry storm: 503 everywhere, max_retries uncapped', { concurrency: CONCURRENCY, numRetries: NUM_RETRIES, ...s, server, amplification: +(server.requests / REQUESTS).toFixed(3) });
  });

  it('connect failures everywhere (nothing listening), default breakers: local 503 UF, attempts and retries in flight bounded', async () => {
    const m = meter();
    const { source, dispatcher } = await setup(0, { observer: m.observer });
    const dead = [await deadPort(), await deadPort(), await deadPort()];
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: dead }],
      routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: 'connect-failure', num_retries: NUM_RETRIES, retry_back_off: FAST } } }],
    });
    const t0 = performance.now();
    const rs = await many(REQUESTS, CONCURRENCY, () => get(dispatcher));
    const ms = performance.now() - t0;
    const s = summarize(m);
    for (const r of rs) {
      expect(r.status).toBe(503);
      expect(String(r.headers['x-meshlet-response-flags'])).toMatch(/^UF,(URX|UO)$/);
      expect(r.body).toMatch(/^meshlet: reviews\.test:9080 route "r" cluster "c" : upstream connection failure/);
    }
    expect(s.attemptsPerRequest.max).toBeLessThanOrEqual(NUM_RETRIES + 1);
    expect(m.maxRetriesInFlight).toBeLessThanOrEqual(3);
    expect(s.retryOverflowsUO).toBe(rs.filter((r) => String(r.headers['x-meshlet-response-flags']).includes('UO')).length);
    figures('retry storm: connect failures everywhere, default max_retries 3', { concurrency: CONCURRENCY, numRetries: NUM_RETRIES, ...s, totalMs: Math.round(ms) });
  });
});
