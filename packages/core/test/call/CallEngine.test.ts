import { describe, expect, it } from 'vitest';
import type { HttpFault, Route, RouteConfiguration, RetryPolicy, Thresholds } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { CircuitBreaker } from '../../src/cluster/CircuitBreaker.js';
import { Host } from '../../src/cluster/Host.js';
import type { PickContext } from '../../src/cluster/PickContext.js';
import type { AttemptResult } from '../../src/cluster/AttemptResult.js';
import { CallEngine } from '../../src/call/CallEngine.js';
import { AttemptError, type AttemptRequest, type AttemptResponse, type AttemptTransport } from '../../src/call/AttemptTransport.js';
import { StreamCompletion, type StreamEndListener } from '../../src/call/StreamCompletion.js';
import type { CallCluster, CallSnapshot } from '../../src/call/CallSnapshot.js';
import type { LocalReply } from '../../src/call/MeshCallError.js';
import { MeshCallError } from '../../src/call/MeshCallError.js';
import type { CallSummary } from '../../src/call/CallObserver.js';
import { headers, seededRandom } from './fixtures.js';

const EMPTY = { request_headers_to_add: [], request_headers_to_remove: [], response_headers_to_add: [], response_headers_to_remove: [], typed_per_filter_config: {} };

function route(action: Partial<NonNullable<Route['route']>> = {}, extra: Partial<Route> = {}): Route {
  return { name: 'r1', match: { prefix: '/', case_sensitive: true, headers: [], query_parameters: [] }, route: { cluster: 'c1', hash_policy: [], ...action }, ...EMPTY, ...extra };
}
function config(...routes: Route[]): RouteConfiguration {
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['svc'], routes, ...EMPTY, include_request_attempt_count: true }], ...EMPTY } as RouteConfiguration;
}
const retryPolicy = (retry_on: string, extra: Partial<RetryPolicy> = {}): RetryPolicy => ({
  retry_on: retry_on.split(','),
  retriable_status_codes: [],
  retriable_headers: [],
  retriable_request_headers: [],
  retry_host_predicate: [],
  retry_back_off: { base_interval: 1, max_interval: 2 },
  ...extra,
});

class FakeCluster implements CallCluster {
  readonly breakers: CircuitBreaker;
  readonly breakersHigh = new CircuitBreaker(undefined);
  readonly reports: [string, AttemptResult][] = [];
  constructor(readonly hosts: Host[], thresholds?: Thresholds) {
    this.breakers = new CircuitBreaker(thresholds);
  }
  breakersFor(priority: 'HIGH' | undefined): CircuitBreaker {
    return priority === 'HIGH' ? this.breakersHigh : this.breakers;
  }
  private next = 0;
  pick(ctx: PickContext): Host | undefined {
    if (this.hosts.length === 0) return undefined;
    // As ClusterRuntime.pick: up to maxSelectionAttempts re-picks (Envoy's host_selection_retry_max_attempts) of an avoided host.
    const repicks = ctx.maxSelectionAttempts ?? 1;
    let h = this.hosts[this.next++ % this.hosts.length]!;
    for (let i = 0; i < repicks && ctx.avoid?.has(h); i++) h = this.hosts[this.next++ % this.hosts.length]!;
    return h;
  }
  reportResult(host: Host, result: AttemptResult): void {
    this.reports.push([host.key, result]);
  }
}

interface FakeResponse extends AttemptResponse {
  discarded: boolean;
  local?: LocalReply;
}
type Step = number | 'connect-failure' | 'reset' | 'refused-stream' | 'hang' | { status: number; grpc?: number; h?: Record<string, string> };

class FakeTransport implements AttemptTransport<FakeResponse> {
  readonly sent: AttemptRequest[] = [];
  readonly responses: FakeResponse[] = [];
  constructor(private readonly steps: Step[], private readonly latencyMs = 0) {}
  async send(a: AttemptRequest): Promise<FakeResponse> {
    this.sent.push(a);
    const step = this.steps[Math.min(this.sent.length - 1, this.steps.length - 1)]!;
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (step === 'hang') return new Promise((_, reject) => a.signal.addEventListener('abort', () => reject(a.signal.reason)));
    if (typeof step === 'string') throw new AttemptError(step, step);
    const s = typeof step === 'number' ? { status: step } : step;
    const r: FakeResponse = { status: s.status, headers: headers(s.h), grpcStatus: s.grpc, discarded: false, discard() { this.discarded = true; } };
    this.responses.push(r);
    return r;
  }
  localReply(reply: LocalReply): FakeResponse {
    return { status: reply.status, headers: headers(reply.headers as Record<string, string>), grpcStatus: reply.grpcStatus, discarded: false, discard() {}, local: reply };
  }
}

const H = (n: number) => new Host(`10.0.0.${n}`, 8080);

function setup(rc: RouteConfiguration, opts: { hosts?: Host[]; thresholds?: Thresholds; fault?: HttpFault; kind?: 'http' | 'grpc' } = {}) {
  const cluster = new FakeCluster(opts.hosts ?? [H(1), H(2), H(3)], opts.thresholds);
  const snapshot: CallSnapshot = { target: 'svc:80', routeTable: RouteTable.compile(rc), cluster: (n) => (n === 'c1' ? cluster : undefined), fault: opts.fault };
  const ends: CallSummary[] = [];
  const engine = new CallEngine({ kind: opts.kind ?? 'http', random: seededRandom(1), observer: { onCallEnd: (s) => ends.push(s) } });
  return { cluster, snapshot, engine, ends };
}
const req = (h: Record<string, string> = {}, replayable = true, signal?: AbortSignal) => ({
  view: { authority: 'svc', path: '/x', method: 'GET', headers: headers(h) as { get(n: string): string | undefined }, isGrpc: false },
  replayable,
  signal,
});
async function rejection(p: Promise<unknown>): Promise<MeshCallError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MeshCallError);
    return e as MeshCallError;
  }
  throw new Error('expected a rejection');
}

describe('CallEngine', () => {
  it('sends one attempt and returns the response as is, with attempt headers info', async () => {
    const { engine, snapshot, cluster, ends } = setup(config(route()));
    const t = new FakeTransport([200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(200);
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]!.attemptCount).toBe(1);
    expect(t.sent[0]!.includeAttemptCount).toBe(true);
    expect(t.sent[0]!.expectedTimeoutMs).toBeGreaterThan(14_900);
    expect(t.sent[0]!.expectedTimeoutMs).toBeLessThanOrEqual(15_000);
    expect(t.sent[0]!.cluster).toBe('c1');
    expect(cluster.reports).toEqual([['10.0.0.1:8080', { kind: 'http', status: 200 }]]);
    expect(cluster.breakers.activeRequests).toBe(0);
    expect(ends[0]!.status).toBe(200);
  });

  it('NR: no route gives MeshCallError 404 with a clear message', async () => {
    const { engine, snapshot } = setup(config(route({}, { match: { path: '/only', case_sensitive: true, headers: [], query_parameters: [] } })));
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport([200])));
    expect(err.flags).toEqual(['NR']);
    expect(err.localReply.status).toBe(404);
    expect(err.message).toBe('meshlet: svc:80 : no route (NR) after 0 attempts');
  });

  it('direct_response is a local reply', async () => {
    const { engine, snapshot } = setup(config({ ...route(), route: undefined, direct_response: { status: 418, body: 'teapot' } }));
    const r = await engine.execute(snapshot, req(), new FakeTransport([200]));
    expect(r.local).toMatchObject({ status: 418, body: 'teapot' });
  });

  it('NC: unknown cluster', async () => {
    const { engine, snapshot } = setup(config(route({ cluster: 'nope' })));
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport([200])));
    expect(err.flags).toEqual(['NC']);
    expect(err.localReply.status).toBe(503);
  });

  it('UH: no host', async () => {
    const { engine, snapshot } = setup(config(route()), { hosts: [] });
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport([200])));
    expect(err.flags).toEqual(['UH']);
    expect(err.message).toContain('route "r1" cluster "c1" : no healthy upstream (UH)');
  });

  it('UO: max_requests overflow fails fast with 503', async () => {
    const { engine, snapshot, cluster } = setup(config(route()), { thresholds: { priority: 'DEFAULT', max_requests: 1 } });
    const slow = new FakeTransport([200], 20);
    const first = engine.execute(snapshot, req(), slow);
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport([200])));
    expect(err.flags).toEqual(['UO']);
    expect(err.localReply.status).toBe(503);
    expect((await first).status).toBe(200);
    expect(cluster.breakers.activeRequests).toBe(0);
  });

  it.each<[string, Step]>([
    ['5xx', 500],
    ['gateway-error', 503],
    ['retriable-4xx', 409],
    ['connect-failure', 'connect-failure'],
    ['reset', 'reset'],
    ['refused-stream', 'refused-stream'],
    ['unavailable', { status: 200, grpc: 14 }],
  ])('retries on %s and returns the success, discarding the retried response', async (on, first) => {
    const { engine, snapshot, cluster } = setup(config(route({ retry_policy: retryPolicy(on) })));
    const t = new FakeTransport([first, 200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(200);
    expect(t.sent.map((a) => a.attemptCount)).toEqual([1, 2]);
    if (typeof first === 'number' || typeof first === 'object') expect(t.responses[0]!.discarded).toBe(true);
    expect(cluster.reports).toHaveLength(2);
    expect(cluster.breakers.activeRetries).toBe(0);
  });

  it('a HIGH-priority route takes its request and retry slots from the cluster\'s HIGH breakers (RouteAction.priority)', async () => {
    const { engine, snapshot, cluster } = setup(config(route({ priority: 'HIGH', retry_policy: retryPolicy('5xx') })), { thresholds: { priority: 'DEFAULT', max_requests: 0, max_retries: 0 } });
    // DEFAULT allows no request and no retry: the call gets through, retried once, only on HIGH's slots.
    const t = new FakeTransport([500, 200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(200);
    expect(t.sent).toHaveLength(2);
    expect([cluster.breakers.stats.rq_overflow, cluster.breakers.stats.rq_retry_overflow]).toEqual([0, 0]);
    expect([cluster.breakersHigh.activeRequests, cluster.breakersHigh.activeRetries]).toEqual([0, 0]);
  });

  it('gRPC calls ignore RouteAction.priority: DEFAULT thresholds only (gRFC A32, no priority routing)', async () => {
    const { engine, snapshot, cluster } = setup(config(route({ priority: 'HIGH' })), { kind: 'grpc', thresholds: { priority: 'DEFAULT', max_requests: 0 } });
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport([200])));
    expect([err.localReply.status, err.flags]).toEqual([503, ['UO']]);
    expect(cluster.breakers.stats.rq_overflow).toBe(1);
  });

  it('does not retry a condition the policy does not list', async () => {
    const { engine, snapshot } = setup(config(route({ retry_policy: retryPolicy('connect-failure') })));
    const t = new FakeTransport([503, 200]);
    expect((await engine.execute(snapshot, req(), t)).status).toBe(503);
    expect(t.sent).toHaveLength(1);
  });

  it('stops after num_retries and flags URX; the last response is returned', async () => {
    const { engine, snapshot, ends } = setup(config(route({ retry_policy: retryPolicy('5xx', { num_retries: 2 }) })));
    const t = new FakeTransport([500]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(500);
    expect(t.sent).toHaveLength(3);
    expect(ends[0]!.flags).toEqual(['URX']);
  });

  it('without an observer, a failed call still lists every attempt, the retried response included', async () => {
    // No observer: a delivered response makes no attempt record, but one that is retried must,
    // because the call may still fail and its MeshCallError lists every attempt.
    const { snapshot } = setup(config(route({ retry_policy: retryPolicy('5xx,connect-failure', { num_retries: 2 }) })));
    const engine = new CallEngine({ kind: 'http', random: seededRandom(1) });
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport([503, 'connect-failure'])));
    expect(err.attempts.map((a) => a.outcome.kind)).toEqual(['response', 'connect-failure', 'connect-failure']);
    expect(err.attempts.map((a) => a.host.address)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(err.message).toMatch(/\(UF,URX\) after 3 attempts/);
    const ok = await engine.execute(snapshot, req(), new FakeTransport([503, 200]));
    expect(ok.status).toBe(200);
  });

  it('exhausted connect failures fail with UF,URX and list every attempt', async () => {
    const { engine, snapshot } = setup(config(route({ retry_policy: retryPolicy('connect-failure', { num_retries: 1 }) })));
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport(['connect-failure'])));
    expect(err.flags).toEqual(['UF', 'URX']);
    expect(err.attempts.map((a) => a.outcome.kind)).toEqual(['connect-failure', 'connect-failure']);
    expect(err.message).toMatch(/upstream connection failure \(UF,URX\) after 2 attempts/);
  });

  it('no retry when the body is not replayable, and the error says so', async () => {
    const { engine, snapshot } = setup(config(route({ retry_policy: retryPolicy('reset') })));
    const t = new FakeTransport(['reset', 200]);
    const err = await rejection(engine.execute(snapshot, req({}, false), t));
    expect(t.sent).toHaveLength(1);
    expect(err.flags).toEqual(['UR']);
    expect(err.message).toContain('not replayable');
  });

  it('previous_hosts: each retry goes to a host not yet tried', async () => {
    const predicate = [{ name: 'envoy.retry_host_predicates.previous_hosts', type_url: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' }];
    const { engine, snapshot, cluster } = setup(config(route({ retry_policy: retryPolicy('5xx', { num_retries: 2, retry_host_predicate: predicate, host_selection_retry_max_attempts: 3 }) })));
    cluster['next'] = 0;
    // A picker that returns host 1 first on every pick unless avoided.
    cluster.pick = (ctx) => cluster.hosts.find((h) => !ctx.avoid?.has(h));
    const t = new FakeTransport([500, 500, 200]);
    await engine.execute(snapshot, req(), t);
    expect(t.sent.map((a) => a.host.key)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
  });

  it('per-try timeout aborts the attempt and retries (5xx covers it)', async () => {
    const { engine, snapshot } = setup(config(route({ retry_policy: retryPolicy('5xx', { per_try_timeout: 5 }) })));
    const t = new FakeTransport(['hang', 200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(200);
    expect(t.sent[0]!.signal.aborted).toBe(true);
    expect(t.sent[0]!.expectedTimeoutMs).toBe(5);
  });

  it('per-try timeout without a retry condition fails UT 504', async () => {
    const { engine, snapshot } = setup(config(route({ retry_policy: retryPolicy('connect-failure', { per_try_timeout: 5 }) })));
    const err = await rejection(engine.execute(snapshot, req(), new FakeTransport(['hang'])));
    expect(err.flags).toEqual(['UT']);
    expect(err.localReply.status).toBe(504);
  });

  it('route timeout covers all attempts: UT even with retries left', async () => {
    const { engine, snapshot, cluster } = setup(config(route({ timeout: 15, retry_policy: retryPolicy('5xx', { num_retries: 100 }) })));
    // Answers at once: the 1-2 ms backoff timer then always expires before the 15 ms deadline, so a
    // second attempt starts even when a loaded machine stalls the loop past both (libuv runs due
    // timers in expiry order). With a 2 ms answer timer the deadline could win that race.
    const t = new FakeTransport([500]);
    const err = await rejection(engine.execute(snapshot, req(), t));
    expect(err.flags[0]).toBe('UT');
    expect(t.sent.length).toBeGreaterThan(1);
    expect(t.sent.length).toBeLessThan(101);
    expect(cluster.breakers.activeRequests).toBe(0);
    expect(cluster.breakers.activeRetries).toBe(0);
  });

  it('timeout 0 disables the route timeout', async () => {
    const { engine, snapshot } = setup(config(route({ timeout: 0 })));
    const t = new FakeTransport([200]);
    await engine.execute(snapshot, req(), t);
    expect(t.sent[0]!.expectedTimeoutMs).toBeUndefined();
  });

  it('caller cancellation ends the call with DC', async () => {
    const { engine, snapshot } = setup(config(route()));
    const ac = new AbortController();
    const p = engine.execute(snapshot, req({}, true, ac.signal), new FakeTransport(['hang']));
    setTimeout(() => ac.abort(), 2);
    const err = await rejection(p);
    expect(err.flags).toEqual(['DC']);
  });

  it('retry circuit breaker (max_retries 0) stops retries', async () => {
    const { engine, snapshot } = setup(config(route({ retry_policy: retryPolicy('5xx', { num_retries: 3 }) })), { thresholds: { priority: 'DEFAULT', max_retries: 0 } });
    const t = new FakeTransport([500, 200]);
    expect((await engine.execute(snapshot, req(), t)).status).toBe(500);
    expect(t.sent).toHaveLength(1);
  });

  it('FI: fault abort is a local reply and nothing is sent', async () => {
    const fault: HttpFault = { headers: [], abort: { http_status: 503, percentage: { numerator: 100, denominator: 'HUNDRED' } } };
    const { engine, snapshot } = setup(config(route()), { fault });
    const t = new FakeTransport([200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.local).toMatchObject({ status: 503, flags: ['FI'] });
    expect(t.sent).toHaveLength(0);
  });

  it('DI: fault delay then forward; a delay past the route timeout is UT for gRPC (A33) but not HTTP (Envoy starts the timer after it)', async () => {
    const fault: HttpFault = { headers: [], delay: { fixed_delay: 5, percentage: { numerator: 100, denominator: 'HUNDRED' } } };
    const { engine, snapshot, ends } = setup(config(route()), { fault });
    expect((await engine.execute(snapshot, req(), new FakeTransport([200]))).status).toBe(200);
    expect(ends[0]!.flags).toEqual(['DI']);
    const slow: HttpFault = { headers: [], delay: { fixed_delay: 50, percentage: { numerator: 100, denominator: 'HUNDRED' } } };
    const s2 = setup(config(route({ max_stream_duration: { max_stream_duration: 5 } })), { fault: slow, kind: 'grpc' });
    const err = await rejection(s2.engine.execute(s2.snapshot, req(), new FakeTransport([200])));
    expect(err.flags).toEqual(['UT', 'DI']);
    const s3 = setup(config(route({ timeout: 5 })), { fault: slow });
    expect((await s3.engine.execute(s3.snapshot, req(), new FakeTransport([200]))).status).toBe(200);
  });

  it('gRPC (A44): retries grpc-status UNAVAILABLE, reports grpc results', async () => {
    const { engine, snapshot, cluster } = setup(config(route({ retry_policy: retryPolicy('unavailable') })), { kind: 'grpc' });
    const r = await engine.execute(snapshot, req(), new FakeTransport([{ status: 200, grpc: 14 }, { status: 200, grpc: 0 }]));
    expect(r.grpcStatus).toBe(0);
    expect(cluster.reports.map((x) => x[1])).toEqual([{ kind: 'grpc', code: 14 }, { kind: 'grpc', code: 0 }]);
  });
});

/** A response whose body is still streaming: it ends when the test says so (AttemptResponse.onStreamEnd). */
class StreamingTransport extends FakeTransport {
  readonly streams: StreamCompletion[] = [];
  override async send(a: AttemptRequest): Promise<FakeResponse> {
    const r = await super.send(a);
    const stream = new StreamCompletion();
    this.streams.push(stream);
    return Object.assign(r, { onStreamEnd: (cb: StreamEndListener) => stream.onComplete(cb) });
  }
}

describe('CallEngine: a call lasts until its response stream ends (Envoy active request)', () => {
  it('holds the max_requests slot and defers onCallEnd until the stream ends, then releases it once', async () => {
    const { engine, snapshot, cluster, ends } = setup(config(route()), { thresholds: { priority: 'DEFAULT', max_requests: 1 } });
    const t = new StreamingTransport([200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(200);
    // The head is back but the body is not: the request still counts, and a second call overflows.
    expect(cluster.breakers.activeRequests).toBe(1);
    expect(ends).toHaveLength(0);
    const overflow = await rejection(engine.execute(snapshot, req(), new FakeTransport([200])));
    expect(overflow.flags).toEqual(['UO']);
    t.streams[0]!.complete();
    t.streams[0]!.complete();
    expect(cluster.breakers.activeRequests).toBe(0);
    expect(ends.map((e) => e.status)).toEqual([503, 200]);
    // No leak: the next call gets the slot.
    expect((await engine.execute(snapshot, req(), new FakeTransport([200]))).status).toBe(200);
    expect(cluster.breakers.activeRequests).toBe(0);
  });

  it('without an observer, the call itself listens for the stream end (a listener object): the slot is held until then, released once', async () => {
    const { snapshot, cluster } = setup(config(route()), { thresholds: { priority: 'DEFAULT', max_requests: 1 } });
    const engine = new CallEngine({ kind: 'http', random: seededRandom(1) });
    const t = new StreamingTransport([200]);
    expect((await engine.execute(snapshot, req(), t)).status).toBe(200);
    expect(cluster.breakers.activeRequests).toBe(1);
    expect((await rejection(engine.execute(snapshot, req(), new FakeTransport([200])))).flags).toEqual(['UO']);
    t.streams[0]!.complete();
    t.streams[0]!.complete();
    expect(cluster.breakers.activeRequests).toBe(0);
    expect((await engine.execute(snapshot, req(), new FakeTransport([200]))).status).toBe(200);
  });

  it('a stream that already ended when the engine returns it releases at once', async () => {
    const { engine, snapshot, cluster, ends } = setup(config(route()), { thresholds: { priority: 'DEFAULT', max_requests: 1 } });
    const t = new StreamingTransport([200]);
    const pending = engine.execute(snapshot, req(), t);
    await expect.poll(() => t.streams.length).toBe(1);
    t.streams[0]!.complete();
    await pending;
    expect(cluster.breakers.activeRequests).toBe(0);
    expect(ends).toHaveLength(1);
  });

  it('retried responses do not hold the slot: only the returned one does', async () => {
    const { engine, snapshot, cluster } = setup(config(route({ retry_policy: retryPolicy('5xx', { num_retries: 2 }) })), { thresholds: { priority: 'DEFAULT', max_requests: 1 } });
    const t = new StreamingTransport([503, 200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(200);
    expect(t.responses[0]!.discarded).toBe(true);
    expect(cluster.breakers.activeRequests).toBe(1);
    t.streams[1]!.complete();
    expect(cluster.breakers.activeRequests).toBe(0);
  });
});

/** A transport that settles through startAttempt, at once (inside startAttempt) or by throwing. */
class SyncTransport implements AttemptTransport<FakeResponse> {
  readonly sent: AttemptRequest[] = [];
  constructor(private readonly steps: Array<number | 'throw' | 'connect-failure'>) {}
  startAttempt(a: AttemptRequest, settler: { resolved(r: FakeResponse): void; rejected(e: unknown): void }): void {
    this.sent.push(a);
    const step = this.steps[Math.min(this.sent.length - 1, this.steps.length - 1)]!;
    if (step === 'throw') throw new Error('transport bug');
    if (step === 'connect-failure') return settler.rejected(new AttemptError('connect-failure', 'refused', false));
    settler.resolved({ status: step, headers: headers(), discarded: false, discard() { this.discarded = true; } });
  }
  localReply(reply: LocalReply): FakeResponse {
    return { status: reply.status, headers: headers(), discarded: false, discard() {}, local: reply };
  }
}

describe('CallEngine.start: the call as callbacks (CallSink)', () => {
  function sink() {
    const told: Array<{ response?: FakeResponse; error?: unknown }> = [];
    return { told, callResponded: (response: FakeResponse) => void told.push({ response }), callFailed: (error: unknown) => void told.push({ error }) };
  }

  it('tells the sink exactly once, before start returns when the attempt settles at once', () => {
    const { engine, snapshot, cluster, ends } = setup(config(route()));
    const s = sink();
    engine.start(snapshot, req(), new SyncTransport([200]), s);
    expect(s.told).toHaveLength(1);
    expect(s.told[0]!.response!.status).toBe(200);
    expect(ends.map((e) => e.status)).toEqual([200]);
    expect(cluster.breakers.activeRequests).toBe(0);
    expect(cluster.hosts.every((h) => h.activeRequests === 0)).toBe(true);
  });

  it('a local reply (no route) is told at once as a MeshCallError', () => {
    const { engine, snapshot } = setup(config(route({}, { match: { path: '/only', case_sensitive: true, headers: [], query_parameters: [] } })));
    const s = sink();
    engine.start(snapshot, req(), new SyncTransport([200]), s);
    expect(s.told).toHaveLength(1);
    expect((s.told[0]!.error as MeshCallError).flags).toEqual(['NR']);
  });

  it('a transport that throws fails that attempt as a reset: retried, and nothing leaks', async () => {
    const { engine, snapshot, cluster } = setup(config(route({ retry_policy: retryPolicy('reset', { num_retries: 2 }) })));
    const t = new SyncTransport(['throw', 200]);
    const r = await engine.execute(snapshot, req(), t);
    expect(r.status).toBe(200);
    expect(t.sent).toHaveLength(2);
    expect(cluster.reports.map(([, res]) => res.kind)).toEqual(['local-origin-failure', 'http']);
    expect(cluster.hosts.every((h) => h.activeRequests === 0)).toBe(true);
    expect(cluster.breakers.activeRequests).toBe(0);
  });

  it('without a retry policy the thrown error is the call\'s cause (UR 503), and every slot is released', async () => {
    const { engine, snapshot, cluster } = setup(config(route()));
    const err = await rejection(engine.execute(snapshot, req(), new SyncTransport(['throw'])));
    expect(err.flags).toEqual(['UR']);
    expect((err.cause as Error).message).toBe('transport bug');
    expect(cluster.hosts.every((h) => h.activeRequests === 0)).toBe(true);
    expect(cluster.breakers.activeRequests).toBe(0);
  });

  it('a transport with neither send nor startAttempt fails each attempt with a TypeError (a reset), not the process', async () => {
    const { engine, snapshot, cluster } = setup(config(route()));
    const t: AttemptTransport<FakeResponse> = { localReply: (reply) => ({ status: reply.status, headers: headers(), discarded: false, discard() {} }) };
    const err = await rejection(engine.execute(snapshot, req(), t));
    expect(err.flags).toEqual(['UR']);
    expect((err.cause as Error).message).toMatch(/implements send or startAttempt/);
    expect(cluster.breakers.activeRequests).toBe(0);
  });

  it('synchronous connect failures retry through the backoff timer and end with UF,URX once', async () => {
    const { engine, snapshot, cluster } = setup(config(route({ retry_policy: retryPolicy('connect-failure', { num_retries: 3 }) })));
    const s = sink();
    const t = new SyncTransport(['connect-failure']);
    engine.start(snapshot, req(), t, s);
    await expect.poll(() => s.told.length).toBe(1);
    expect(t.sent).toHaveLength(4);
    expect((s.told[0]!.error as MeshCallError).flags).toEqual(['UF', 'URX']);
    expect(cluster.breakers.activeRequests).toBe(0);
    expect(cluster.hosts.every((h) => h.activeRequests === 0)).toBe(true);
  });
});
