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

// A gRPC call on a route with no retry policy, timeout, hash policy or fault filter, on an engine
// without an observer, runs as a DirectCall (one object, one attempt). These tests run each case on
// such an engine and on one with an observer (which always takes CallEngine's full path) and
// require the same outcome: response or MeshCallError (message, flags, local reply, attempts),
// outlier reports, circuit-breaker slots and host load.

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
type Step = 'ok' | 'unavailable' | 'connect-failure' | 'reset' | 'refused-stream' | 'throw' | 'hang' | 'queue';

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
    if (step === 'ok' || step === 'unavailable' || step === 'queue') {
      const stream = new StreamCompletion();
      const r: FakeResponse = {
        status: 200,
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
  avoided: string[][];
  retryStats: number[];
}

/** Runs one call on a fresh cluster with an observed (full path) or unobserved (direct) engine. */
async function run(
  observed: boolean,
  step: Step | readonly Step[],
  opts: { rc?: RouteConfiguration; hosts?: number; thresholds?: Thresholds; fault?: HttpFault; abort?: boolean; cluster?: string; replayable?: boolean } = {},
): Promise<Run> {
  const hosts = Array.from({ length: opts.hosts ?? 2 }, (_, i) => new Host(`10.0.0.${i + 1}`, 8080));
  const cluster = new FakeCluster(hosts, opts.thresholds);
  const snapshot: CallSnapshot = { target: 'svc:80', routeTable: RouteTable.compile(opts.rc ?? config(route())), cluster: (n) => (n === (opts.cluster ?? 'c1') ? cluster : undefined), fault: opts.fault };
  const engine = new CallEngine({ kind: 'grpc', random: seededRandom(1), ...(observed ? { observer: {} } : {}) });
  const transport = new StartingTransport(step);
  const controller = new AbortController();
  const request = { view: { authority: 'svc', path: '/pkg.Svc/M', method: 'POST', headers: headers(), isGrpc: true }, replayable: opts.replayable ?? true, signal: controller.signal };
  const state = (): number[] => [cluster.breakers.activeRequests, cluster.breakers.pendingRequests, ...hosts.map((h) => h.activeRequests)];
  const result = engine.execute(snapshot, request, transport);
  if (opts.abort) controller.abort(new Error('caller gave up'));
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
    avoided: cluster.avoided,
    retryStats: [cluster.breakers.activeRetries, cluster.breakers.stats.rq_retry_overflow],
  };
}

async function both(step: Step | readonly Step[], opts: Parameters<typeof run>[2] = {}): Promise<{ direct: Run; full: Run }> {
  const direct = await run(false, step, opts);
  const full = await run(true, step, opts);
  const { lastAttempt: _d, ...d } = direct;
  const { lastAttempt: _f, ...f } = full;
  expect(d).toEqual(f);
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

  it('takes the full path (attempts may be replayed) once the route has a timeout, a hash policy, or the listener a fault filter', async () => {
    // (gRPC ignores a retry policy's per_try_timeout, gRFC A44: a route with one runs direct too.)
    const timeout = config(route({ max_stream_duration: { max_stream_duration: 5_000 } }));
    expect((await run(false, 'ok', { rc: timeout })).lastAttempt).toEqual([undefined]);
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
