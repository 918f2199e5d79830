import { describe, expect, it } from 'vitest';
import type { HttpFault, RetryPolicy, Route, RouteConfiguration, Thresholds } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { CircuitBreaker } from '../../src/cluster/CircuitBreaker.js';
import { Host } from '../../src/cluster/Host.js';
import type { PickContext } from '../../src/cluster/PickContext.js';
import type { AttemptResult } from '../../src/cluster/AttemptResult.js';
import { CallEngine } from '../../src/call/CallEngine.js';
import { AttemptError, type AttemptRequest, type AttemptResponse, type AttemptSettler, type AttemptTransport } from '../../src/call/AttemptTransport.js';
import { StreamCompletion, type StreamEndListener } from '../../src/call/StreamCompletion.js';
import type { CallCluster, CallSnapshot } from '../../src/call/CallSnapshot.js';
import { MeshCallError, type LocalReply } from '../../src/call/MeshCallError.js';
import { headers, seededRandom } from './fixtures.js';

// A call on a route without a hash policy, on a listener without a fault filter and an engine without an
// observer, runs its first attempt as a DirectCall (one object). These tests run each case on such an
// engine and on one with an observer (which always takes CallEngine's full path) and require the same
// outcome: response or MeshCallError (message, flags, local reply, attempts), outlier reports,
// circuit-breaker slots and host load, the attempts sent and their budgets.

const EMPTY = { request_headers_to_add: [], request_headers_to_remove: [], response_headers_to_add: [], response_headers_to_remove: [], typed_per_filter_config: {} };

function route(action: Partial<NonNullable<Route['route']>> = {}): Route {
  return { name: 'r1', match: { prefix: '/', case_sensitive: true, headers: [], query_parameters: [] }, route: { cluster: 'c1', hash_policy: [], ...action }, ...EMPTY };
}
function config(...routes: Route[]): RouteConfiguration {
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['svc'], routes, ...EMPTY }], ...EMPTY } as RouteConfiguration;
}

class FakeCluster implements CallCluster {
  readonly breakers: CircuitBreaker;
  readonly reports: [string, AttemptResult][] = [];
  /** The hosts each pick was told to avoid (previous_hosts). */
  readonly avoided: string[][] = [];
  private next = 0;
  constructor(
    readonly hosts: Host[],
    thresholds?: Thresholds,
  ) {
    this.breakers = new CircuitBreaker(thresholds);
  }
  breakersFor(): CircuitBreaker {
    return this.breakers;
  }
  pick(ctx: PickContext): Host | undefined {
    const avoid = ctx.avoid;
    this.avoided.push(avoid === undefined ? [] : [...avoid].map((h) => h.key));
    if (this.hosts.length === 0) return undefined;
    let host = this.hosts[this.next++ % this.hosts.length]!;
    for (let i = 0; i < (ctx.maxSelectionAttempts ?? 1) && avoid?.has(host) === true; i++) host = this.hosts[this.next++ % this.hosts.length]!;
    return host;
  }
  reportResult(host: Host, result: AttemptResult): void {
    this.reports.push([host.key, result]);
  }
}

interface FakeResponse extends AttemptResponse {
  readonly stream: StreamCompletion;
  discarded: boolean;
}
type Step = 'ok' | '503' | 'unavailable' | 'connect-failure' | 'reset' | 'refused-stream' | 'throw' | 'hang' | 'queue';

/**
 * A transport that settles each attempt inside startAttempt (as the gRPC transport may) or never ('hang');
 * given several steps, attempt n takes the n-th (the last one repeats).
 */
class StartingTransport implements AttemptTransport<FakeResponse> {
  readonly sent: AttemptRequest[] = [];
  readonly responses: FakeResponse[] = [];
  stopped: Error | undefined;
  private readonly steps: readonly Step[];
  constructor(step: Step | readonly Step[]) {
    this.steps = typeof step === 'string' ? [step] : step;
  }
  private get step(): Step {
    return this.steps[Math.min(this.sent.length, this.steps.length - 1)]!;
  }
  wouldQueue(): boolean {
    return this.step === 'queue';
  }
  startAttempt(attempt: AttemptRequest, settler: AttemptSettler<FakeResponse>): void {
    const step = this.step;
    this.sent.push(attempt);
    attempt.onStop?.((reason) => (this.stopped = reason));
    if (step === 'hang') return;
    if (step === 'throw') throw new Error('transport broke');
    if (step === 'ok' || step === '503' || step === 'unavailable' || step === 'queue') {
      const stream = new StreamCompletion();
      const r: FakeResponse = {
        status: step === '503' ? 503 : 200,
        headers: headers(),
        grpcStatus: step === 'unavailable' ? 14 : undefined,
        stream,
        discarded: false,
        discard() {
          this.discarded = true;
          stream.complete();
        },
        onStreamEnd: (l: StreamEndListener) => stream.onComplete(l),
      };
      this.responses.push(r);
      return settler.resolved(r);
    }
    settler.rejected(new AttemptError(step, step));
  }
  localReply(reply: LocalReply): FakeResponse {
    return { status: reply.status, headers: headers(), stream: new StreamCompletion(), discarded: false, discard() {} };
  }
}

interface Run {
  outcome: unknown;
  reports: [string, AttemptResult][];
  /** Breaker counts and host load once the call settled, then once its stream ended. */
  settled: number[];
  ended: number[];
  overflows: number;
  lastAttempt: (boolean | undefined)[];
  stopped: string | undefined;
  /** Each attempt's host and attempt count (x-envoy-attempt-count), and the hosts each pick avoided. */
  sent: [string, number, boolean][];
  /** Each attempt's expectedTimeoutMs (x-envoy-expected-rq-timeout-ms). */
  budgets: (number | undefined)[];
  avoided: string[][];
  retryStats: number[];
}

interface RunOptions {
  rc?: RouteConfiguration;
  hosts?: number;
  thresholds?: Thresholds;
  fault?: HttpFault;
  /** The caller cancels right after the start, or after this many ms. */
  abort?: boolean | number;
  cluster?: string;
  replayable?: boolean;
  /** 'grpc' (default): gRFC A44 retry and A31 timeout semantics; 'http': Envoy's. */
  kind?: 'http' | 'grpc';
  headers?: Record<string, string>;
}

/** Runs one call on a fresh cluster with an observed (full path) or unobserved (direct) engine. */
async function run(observed: boolean, step: Step | readonly Step[], opts: RunOptions = {}): Promise<Run> {
  const hosts = Array.from({ length: opts.hosts ?? 2 }, (_, i) => new Host(`10.0.0.${i + 1}`, 8080));
  const cluster = new FakeCluster(hosts, opts.thresholds);
  const snapshot: CallSnapshot = { target: 'svc:80', routeTable: RouteTable.compile(opts.rc ?? config(route())), cluster: (n) => (n === (opts.cluster ?? 'c1') ? cluster : undefined), fault: opts.fault };
  const kind = opts.kind ?? 'grpc';
  const engine = new CallEngine({ kind, random: seededRandom(1), ...(observed ? { observer: {} } : {}) });
  const transport = new StartingTransport(step);
  const controller = new AbortController();
  const request = { view: { authority: 'svc', path: '/pkg.Svc/M', method: 'POST', headers: headers(opts.headers), isGrpc: kind === 'grpc' }, replayable: opts.replayable ?? true, signal: controller.signal };
  const state = (): number[] => [cluster.breakers.activeRequests, cluster.breakers.pendingRequests, ...hosts.map((h) => h.activeRequests)];
  const result = engine.execute(snapshot, request, transport);
  if (opts.abort === true) controller.abort(new Error('caller gave up'));
  else if (typeof opts.abort === 'number') setTimeout(() => controller.abort(new Error('caller gave up')), opts.abort);
  let outcome: unknown;
  try {
    const r = await result;
    outcome = { status: r.status, grpcStatus: r.grpcStatus };
  } catch (err) {
    const e = err as MeshCallError;
    expect(e).toBeInstanceOf(MeshCallError);
    outcome = { message: e.message, flags: e.flags, localReply: e.localReply, attempts: e.attempts.map((a) => [a.host.key, a.outcome.kind === 'response' ? { status: a.outcome.status, grpcStatus: a.outcome.grpcStatus } : a.outcome]), cause: String((e.cause as Error | undefined)?.message) };
  }
  const settled = state();
  for (const r of transport.responses) r.stream.complete({ grpcStatus: r.grpcStatus ?? 0 });
  return {
    outcome,
    reports: cluster.reports,
    settled,
    ended: state(),
    overflows: cluster.breakers.stats.rq_overflow + cluster.breakers.stats.rq_pending_overflow,
    lastAttempt: transport.sent.map((a) => a.lastAttempt),
    stopped: transport.stopped?.message,
    sent: transport.sent.map((a) => [a.host.key, a.attemptCount, a.includeAttemptCount]),
    budgets: transport.sent.map((a) => a.expectedTimeoutMs),
    avoided: cluster.avoided,
    retryStats: [cluster.breakers.activeRetries, cluster.breakers.stats.rq_retry_overflow],
  };
}

async function both(step: Step | readonly Step[], opts: RunOptions = {}): Promise<{ direct: Run; full: Run }> {
  const direct = await run(false, step, opts);
  const full = await run(true, step, opts);
  const { lastAttempt: _d, budgets: db, ...d } = direct;
  const { lastAttempt: _f, budgets: fb, ...f } = full;
  expect(d).toEqual(f);
  // The first attempt's budget exactly; a retry's may be the route timeout's remainder, read off the clock
  // (the cases check those themselves where they are fixed): here only whether each attempt had one.
  expect(db[0]).toBe(fb[0]);
  expect(db.map((b) => b === undefined)).toEqual(fb.map((b) => b === undefined));
  return { direct, full };
}

describe('DirectCall: a single-attempt gRPC call without an observer', () => {
  it('delivers the response, reports it to outlier detection, and holds max_requests until the stream ends', async () => {
    const { direct, full } = await both('ok');
    expect(direct.lastAttempt).toEqual([true]);
    expect(full.lastAttempt).toEqual([undefined]);
    expect(direct.outcome).toEqual({ status: 200, grpcStatus: undefined });
    expect(direct.reports).toEqual([['10.0.0.1:8080', { kind: 'http', status: 200 }]]);
    // [max_requests, max_pending, host loads]: the request slot until the stream ends; the host load until the head.
    expect(direct.settled).toEqual([1, 0, 0, 0]);
    expect(direct.ended).toEqual([0, 0, 0, 0]);
  });

  it('a Trailers-Only status is the response, reported with its gRPC code and not retried', async () => {
    const { direct } = await both('unavailable');
    expect(direct.outcome).toEqual({ status: 200, grpcStatus: 14 });
    expect(direct.reports).toEqual([['10.0.0.1:8080', { kind: 'grpc', code: 14 }]]);
  });

  it.each<[Step, string]>([
    ['connect-failure', 'UF'],
    ['reset', 'UR'],
    ['refused-stream', 'UR'],
    ['throw', 'UR'],
  ])('an attempt that fails with %s fails the call %s, reported as a local-origin failure', async (step, flag) => {
    const { direct } = await both(step);
    expect(direct.outcome).toMatchObject({ flags: [flag], localReply: { status: 503 } });
    expect(direct.reports).toEqual([['10.0.0.1:8080', { kind: 'local-origin-failure' }]]);
    expect(direct.settled).toEqual([0, 0, 0, 0]);
  });

  it('the caller cancelling fails the call DC with its reason, stops the attempt, and is not reported to outlier detection', async () => {
    const { direct } = await both('hang', { abort: true });
    expect(direct.outcome).toMatchObject({ flags: ['DC'], localReply: { status: 499 }, cause: 'caller gave up' });
    expect(direct.stopped).toBe('cancelled');
    expect(direct.reports).toEqual([]);
    expect(direct.settled).toEqual([0, 0, 0, 0]);
  });

  it('fails fast UO on max_requests and max_pending_requests, UH without a host, NC for an unknown cluster', async () => {
    const uo = await both('ok', { thresholds: { priority: 'DEFAULT', max_requests: 0 } });
    expect(uo.direct.outcome).toMatchObject({ flags: ['UO'], localReply: { status: 503 } });
    expect(uo.direct.overflows).toBe(1);
    const pending = await both('queue', { thresholds: { priority: 'DEFAULT', max_pending_requests: 0 } });
    expect(pending.direct.outcome).toMatchObject({ flags: ['UO'], message: expect.stringContaining('max_pending_requests reached') });
    expect(pending.direct.settled).toEqual([0, 0, 0, 0]);
    const queued = await both('queue');
    expect(queued.direct.settled).toEqual([1, 0, 0, 0]);
    const uh = await both('ok', { hosts: 0 });
    expect(uh.direct.outcome).toMatchObject({ flags: ['UH'] });
    expect(uh.direct.settled).toEqual([0, 0]);
    const nc = await both('ok', { cluster: 'other' });
    expect(nc.direct.outcome).toMatchObject({ flags: ['NC'], localReply: { status: 503 } });
  });

  it('max_stream_duration: the attempt is bounded by it, and its passing fails the call UT as on the full path', async () => {
    const rc = config(route({ max_stream_duration: { max_stream_duration: 30 } }));
    const ok = await both('ok', { rc });
    expect(ok.direct.lastAttempt).toEqual([true]);
    expect(ok.direct.budgets).toEqual([30]);
    const { direct } = await both('hang', { rc });
    expect(direct.outcome).toMatchObject({ flags: ['UT'], localReply: { status: 504 }, attempts: [['10.0.0.1:8080', { kind: 'per-try-timeout' }]] });
    expect(direct.stopped).toBe('route timeout');
    expect(direct.reports).toEqual([['10.0.0.1:8080', { kind: 'local-origin-failure' }]]);
    expect(direct.settled).toEqual([0, 0, 0, 0]);
  });

  it('takes the full path (attempts may be replayed) once the route has a hash policy, or the listener a fault filter', async () => {
    const hashed = config(route({ hash_policy: [{ header: { header_name: 'x-user' }, terminal: false }] } as Partial<NonNullable<Route['route']>>));
    expect((await run(false, 'ok', { rc: hashed })).lastAttempt).toEqual([undefined]);
    const fault: HttpFault = { headers: [] };
    expect((await run(false, 'ok', { fault })).lastAttempt).toEqual([undefined]);
    // And back: the same route without them is direct again.
    expect((await run(false, 'ok')).lastAttempt).toEqual([true]);
  });
});

/** A retry policy as xds-client parses it, backing off 1 ms (istiod's default retry policy with `retryOn` = ISTIO_RETRY_ON). */
function retryPolicy(retryOn: string[], extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retry_on: retryOn,
    num_retries: 2,
    retriable_status_codes: [503],
    retriable_headers: [],
    retriable_request_headers: [],
    retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', type_url: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' }],
    host_selection_retry_max_attempts: 5,
    retry_back_off: { base_interval: 1 },
    ...extra,
  };
}
const ISTIO_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];
const istio = (extra: Partial<RetryPolicy> = {}): RouteConfiguration => config(route({ retry_policy: retryPolicy(ISTIO_RETRY_ON, extra) }));

// istiod puts a retry policy on every route: the first attempt runs direct, and one whose outcome the
// policy retries goes on in the engine (CallEngine.continueCall). Each case must end as the full path does.
describe('DirectCall: the first attempt of a call on a route with a retry policy', () => {
  it('a first attempt that succeeds ends the call on the direct path, its request kept for a replay (lastAttempt false)', async () => {
    const { direct, full } = await both('ok', { rc: istio() });
    expect(direct.lastAttempt).toEqual([false]);
    expect(full.lastAttempt).toEqual([undefined]);
    expect(direct.outcome).toEqual({ status: 200, grpcStatus: undefined });
    expect(direct.sent).toEqual([['10.0.0.1:8080', 1, false]]);
    expect(direct.settled).toEqual([1, 0, 0, 0]);
    expect(direct.ended).toEqual([0, 0, 0, 0]);
  });

  it.each<Step>(['unavailable', 'connect-failure', 'reset', 'refused-stream', 'throw'])('a first attempt that ends %s is retried on the next host after a backoff, with its attempt count, and succeeds', async (first) => {
    const rc = istio();
    // VirtualHost.include_request_attempt_count: both attempts send x-envoy-attempt-count.
    (rc.virtual_hosts[0] as { include_request_attempt_count?: boolean }).include_request_attempt_count = true;
    const { direct } = await both([first, 'ok'], { rc });
    expect(direct.lastAttempt).toEqual([false, undefined]);
    expect(direct.outcome).toEqual({ status: 200, grpcStatus: undefined });
    expect(direct.sent).toEqual([
      ['10.0.0.1:8080', 1, true],
      ['10.0.0.2:8080', 2, true],
    ]);
    expect(direct.reports).toHaveLength(2);
    expect(direct.reports[1]).toEqual(['10.0.0.2:8080', { kind: 'http', status: 200 }]);
    // gRPC ignores retry_host_predicate (gRFC A44, CompiledRetryPolicy.from): no pick avoids a host, on either path.
    expect(direct.avoided).toEqual([[], []]);
    expect(direct.settled).toEqual([1, 0, 0, 0]);
    expect(direct.retryStats).toEqual([0, 0]);
  });

  it('exhausts its retries: the last response stands (three attempts), or the last failure with every attempt recorded', async () => {
    const status = await both('unavailable', { rc: istio() });
    expect(status.direct.outcome).toEqual({ status: 200, grpcStatus: 14 });
    expect(status.direct.sent.map((s) => s[1])).toEqual([1, 2, 3]);
    const reset = await both('reset', { rc: istio() });
    expect(reset.direct.outcome).toMatchObject({ flags: ['UR', 'URX'], localReply: { status: 503 } });
    expect((reset.direct.outcome as { attempts: unknown[] }).attempts).toHaveLength(3);
    expect(reset.direct.settled).toEqual([0, 0, 0, 0]);
  });

  it('an outcome the policy does not retry ends the call on the direct path, as the full path ends it', async () => {
    const rc = config(route({ retry_policy: retryPolicy(['cancelled']) }));
    const status = await both('unavailable', { rc });
    expect(status.direct.outcome).toEqual({ status: 200, grpcStatus: 14 });
    expect(status.direct.sent).toHaveLength(1);
    const reset = await both('reset', { rc });
    expect(reset.direct.outcome).toMatchObject({ flags: ['UR'], attempts: [['10.0.0.1:8080', { kind: 'reset' }]] });
    // Not replayable: the retriable outcome stands (gRPC ignores retriable_request_headers, gRFC A44).
    const once = await both('reset', { rc: istio(), replayable: false });
    expect(once.direct.outcome).toMatchObject({ flags: ['UR'], message: expect.stringContaining('not retried: request body is not replayable') });
    expect(once.direct.sent).toHaveLength(1);
  });

  it('the max_retries breaker: a full one lets the first outcome stand, flagged UO', async () => {
    const thresholds: Thresholds = { priority: 'DEFAULT', max_retries: 0 };
    const status = await both(['unavailable', 'ok'], { rc: istio(), thresholds });
    expect(status.direct.outcome).toEqual({ status: 200, grpcStatus: 14 });
    expect(status.direct.retryStats).toEqual([0, 1]);
    const reset = await both(['reset', 'ok'], { rc: istio(), thresholds });
    expect(reset.direct.outcome).toMatchObject({ flags: ['UR', 'UO'], message: expect.stringContaining('retry circuit breaker open') });
  });

  it('the caller cancelling during the first attempt or during the backoff fails the call DC', async () => {
    const during = await both('hang', { rc: istio(), abort: true });
    expect(during.direct.outcome).toMatchObject({ flags: ['DC'], localReply: { status: 499 }, cause: 'caller gave up' });
    expect(during.direct.stopped).toBe('cancelled');
    // The first attempt fails at once: the abort comes in its backoff (50 ms).
    const backoff = await both(['reset', 'ok'], { rc: istio({ retry_back_off: { base_interval: 50 } }), abort: true });
    expect(backoff.direct.outcome).toMatchObject({ flags: ['DC'], cause: 'caller gave up', attempts: [['10.0.0.1:8080', { kind: 'reset' }]] });
    expect(backoff.direct.sent).toHaveLength(1);
    expect(backoff.direct.settled).toEqual([0, 0, 0, 0]);
    expect(backoff.direct.retryStats).toEqual([0, 0]);
  });
});

// HTTP routes carry timers: Envoy's route timeout (15 s unless RouteAction.timeout says otherwise) and often a
// retry policy's per_try_timeout. A DirectCall arms the first attempt's one (the shorter); when it passes, the
// engine goes on as its full path goes on after that timer. Each case must end as the full path does.
const http = (action: Partial<NonNullable<Route['route']>>, rc?: (c: RouteConfiguration) => void): RunOptions => {
  const c = config(route(action));
  rc?.(c);
  return { kind: 'http', rc: c };
};
const HTTP_RETRY_ON = ['5xx', 'connect-failure', 'refused-stream', 'reset'];
const withAttemptCount = (c: RouteConfiguration): void => void ((c.virtual_hosts[0] as { include_request_attempt_count?: boolean }).include_request_attempt_count = true);

describe('DirectCall: HTTP calls with a route timeout and a per-try timeout', () => {
  it('the benchmark route (10 s timeout, 2 s per-try, previous_hosts): the first attempt runs direct, its budget the per-try timeout', async () => {
    const { direct, full } = await both('ok', http({ timeout: 10_000, retry_policy: retryPolicy(HTTP_RETRY_ON, { per_try_timeout: 2_000 }) }));
    expect(direct.lastAttempt).toEqual([false]);
    expect(full.lastAttempt).toEqual([undefined]);
    expect(direct.outcome).toEqual({ status: 200, grpcStatus: undefined });
    expect(direct.budgets).toEqual([2_000]);
    expect(direct.settled).toEqual([1, 0, 0, 0]);
    expect(direct.ended).toEqual([0, 0, 0, 0]);
    // Without a per-try timeout (or with one not shorter than the route's), the route timeout is the budget; Envoy's default is 15 s.
    expect((await both('ok', http({ timeout: 500 }))).direct.budgets).toEqual([500]);
    expect((await both('ok', http({ timeout: 500, retry_policy: retryPolicy(HTTP_RETRY_ON, { per_try_timeout: 500 }) }))).direct.budgets).toEqual([500]);
    expect((await both('ok', http({}))).direct.budgets).toEqual([15_000]);
    // istiod writes `timeout: 0s` (none): no timer, no budget.
    expect((await both('ok', http({ timeout: 0 }))).direct.budgets).toEqual([undefined]);
  });

  it('the route timeout passing during the first attempt stops it and fails the call UT 504, reported as a local-origin failure', async () => {
    for (const opts of [http({ timeout: 30 }), http({ timeout: 30, retry_policy: retryPolicy(HTTP_RETRY_ON) })]) {
      const { direct } = await both('hang', opts);
      expect(direct.outcome).toMatchObject({ flags: ['UT'], localReply: { status: 504, body: 'meshlet: UT' }, attempts: [['10.0.0.1:8080', { kind: 'per-try-timeout' }]] });
      expect((direct.outcome as { message: string }).message).toContain('upstream request timeout');
      expect(direct.stopped).toBe('route timeout');
      expect(direct.reports).toEqual([['10.0.0.1:8080', { kind: 'local-origin-failure' }]]);
      expect(direct.settled).toEqual([0, 0, 0, 0]);
    }
  });

  it('a per-try timeout is retried on another host (previous_hosts), with the attempt count and the time left, and succeeds', async () => {
    const opts = http({ timeout: 1_000, retry_policy: retryPolicy(HTTP_RETRY_ON, { per_try_timeout: 20 }) }, withAttemptCount);
    const { direct } = await both(['hang', 'ok'], opts);
    expect(direct.outcome).toEqual({ status: 200, grpcStatus: undefined });
    expect(direct.sent).toEqual([
      ['10.0.0.1:8080', 1, true],
      ['10.0.0.2:8080', 2, true],
    ]);
    expect(direct.budgets).toEqual([20, 20]);
    expect(direct.avoided).toEqual([[], ['10.0.0.1:8080']]);
    expect(direct.reports).toEqual([
      ['10.0.0.1:8080', { kind: 'local-origin-failure' }],
      ['10.0.0.2:8080', { kind: 'http', status: 200 }],
    ]);
    expect(direct.settled).toEqual([1, 0, 0, 0]);
    expect(direct.retryStats).toEqual([0, 0]);
  });

  it('per-try timeouts until the retries are exhausted, or the route timeout cutting the retries short, end in UT 504', async () => {
    const exhausted = await both('hang', http({ timeout: 1_000, retry_policy: retryPolicy(HTTP_RETRY_ON, { per_try_timeout: 10 }) }));
    expect(exhausted.direct.outcome).toMatchObject({ flags: ['UT', 'URX'], localReply: { status: 504 }, message: expect.stringContaining('per-try timeout') });
    expect(exhausted.direct.sent).toHaveLength(3);
    expect(exhausted.direct.settled).toEqual([0, 0, 0, 0]);
    // The route timeout passes in the second attempt (its budget the 10 ms left, not the per-try 20): how many attempts
    // fit depends on the timers' lateness, so each path is checked on its own here.
    for (const observed of [false, true]) {
      const cut = await run(observed, 'hang', http({ timeout: 30, retry_policy: retryPolicy(HTTP_RETRY_ON, { per_try_timeout: 20, num_retries: 5 }) }));
      expect(cut.outcome).toMatchObject({ flags: ['UT'], localReply: { status: 504 } });
      expect(cut.budgets[0]).toBe(20);
      expect(cut.budgets.slice(1).every((b) => b! < 20)).toBe(true);
      expect(cut.settled).toEqual([0, 0, 0, 0]);
    }
  });

  it('a per-try timeout the policy does not retry, or on a route without retries, fails the call UT 504 "per-try timeout"', async () => {
    for (const retryOn of [['retriable-4xx'], []]) {
      const { direct } = await both('hang', http({ timeout: 1_000, retry_policy: retryPolicy(retryOn, { per_try_timeout: 15 }) }));
      expect(direct.outcome).toMatchObject({ flags: ['UT'], localReply: { status: 504 }, message: expect.stringContaining('per-try timeout') });
      expect(direct.sent).toHaveLength(1);
      expect(direct.stopped).toBe('per-try timeout');
    }
  });

  it('a 5xx is retried on another host (previous_hosts); retriable_request_headers decide whether the request is retried at all', async () => {
    const retried = await both(['503', 'ok'], http({ timeout: 1_000, retry_policy: retryPolicy(HTTP_RETRY_ON, { per_try_timeout: 500 }) }));
    expect(retried.direct.outcome).toEqual({ status: 200, grpcStatus: undefined });
    expect(retried.direct.avoided).toEqual([[], ['10.0.0.1:8080']]);
    expect(retried.direct.budgets).toEqual([500, 500]);
    const gated = (headers: Record<string, string>): Promise<{ direct: Run; full: Run }> =>
      both(['503', 'ok'], { ...http({ timeout: 1_000, retry_policy: retryPolicy(HTTP_RETRY_ON, { retriable_request_headers: [{ name: 'x-retry', exact_match: 'yes', invert_match: false }] }) }), headers });
    const matching = await gated({ 'x-retry': 'yes' });
    expect(matching.direct.outcome).toEqual({ status: 200, grpcStatus: undefined });
    expect(matching.direct.sent).toHaveLength(2);
    const other = await gated({ 'x-retry': 'no' });
    expect(other.direct.outcome).toEqual({ status: 503, grpcStatus: undefined });
    expect(other.direct.sent).toHaveLength(1);
    expect(other.direct.settled).toEqual([1, 0, 0, 0]);
  });

  it('the caller cancelling while the timer is armed fails the call DC; the timer is disarmed and never fires', async () => {
    // The timers far from the cancel, so that a loaded machine's late timers cannot reorder them.
    const opts = http({ timeout: 400, retry_policy: retryPolicy(HTTP_RETRY_ON, { per_try_timeout: 200 }) });
    const { direct } = await both('hang', { ...opts, abort: 5 });
    expect(direct.outcome).toMatchObject({ flags: ['DC'], localReply: { status: 499 }, cause: 'caller gave up' });
    expect(direct.stopped).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 450));
    // A timer that fired after the cancel would have reported the attempt or started a retry.
    expect(direct.reports).toEqual([]);
    expect(direct.sent).toHaveLength(1);
    expect(direct.settled).toEqual([0, 0, 0, 0]);
  });
});
