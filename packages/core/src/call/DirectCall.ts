import type { CircuitBreaker } from '../cluster/CircuitBreaker.js';
import type { Host } from '../cluster/Host.js';
import type { PickContext } from '../cluster/PickContext.js';
import type { AttemptOutcome } from '../retry/AttemptOutcome.js';
import type { HeaderMutation } from '../routing/HeaderMutation.js';
import type { CompiledRoute, PickedCluster, RouteMatchResult } from '../routing/index.js';
import { CALLER_RESET, LOCAL_FAILURE, discardLate, outcomeOf, responseResult } from './AttemptResults.js';
import { AttemptStop } from './AttemptStop.js';
import type { AttemptRequest, AttemptResponse, AttemptSettler, AttemptTransport, CancelListener, LogicalRequest } from './AttemptTransport.js';
import type { CallEngine, CallSink, FirstAttempt } from './CallEngine.js';
import type { CallCluster, CallSnapshot } from './CallSnapshot.js';
import { MeshCallError, clusterNotFoundStatus, meshFailureReply, type AttemptRecord } from './MeshCallError.js';
import { ResponseFlag, type ResponseFlagCode } from './ResponseFlags.js';
import { RouteCallPolicy, type CallTimer } from './RouteCallPolicy.js';
import { disarm, type DeadlineList, type DeadlineNode } from './DeadlineTimers.js';

/**
 * Starts `request` as a DirectCall when its route allows its first attempt to run direct
 * (RouteCallPolicy.directFirstAttempt, decided once per push: a route without a hash policy) and the
 * listener has no fault filter; returns false, having done nothing, for
 * the CallEngine to run the call in full otherwise. CallEngine.start calls it for an engine without an
 * observer, once the caller is known not to have cancelled and the route is matched.
 */
export function startDirectCall(
  engine: CallEngine,
  snapshot: CallSnapshot,
  match: RouteMatchResult,
  request: LogicalRequest,
  transport: AttemptTransport<AttemptResponse>,
  sink: CallSink<AttemptResponse>,
): boolean {
  if (match.route.action !== 'route' || snapshot.fault !== undefined || transport.startAttempt === undefined) return false;
  const policy = RouteCallPolicy.for(match.route, match.virtualHost, engine.kind, snapshot.maxStreamDuration);
  if (!policy.directFirstAttempt) return false;
  let call: DirectCall;
  try {
    call = DirectCall.routed(engine, snapshot, match, policy, request, transport, sink);
  } catch (err) {
    // As CallEngine.fail: a local reply (MeshCallError), or what routing threw.
    sink.callFailed(err);
    return true;
  }
  call.startAttempt();
  return true;
}

/**
 * A call's first attempt, on a route with RouteCallPolicy.directFirstAttempt and no observer: the call and
 * its attempt in one object, without the engine's retry, backoff and fault state, and its steps in
 * three methods (routed, startAttempt, resolved or rejected) instead of the engine's chain. When the
 * route has a retry policy and the attempt's outcome is one it retries (the policy's own classify), the
 * call is handed to the engine (CallEngine.continueCall), which goes on from its retry decision as its
 * full path would have; so is a call whose first attempt's timer passes (the per-try timeout, or the
 * route timeout when there is no shorter per-try one: the one timer it arms). Every other outcome ends
 * the call here. It keeps
 * what Envoy's router does for such a request, as CallEngine does: the max_requests slot until the
 * response stream ends, max_pending_requests while the transport would queue, the host's active
 * request count, the attempt's outcome reported to outlier detection, the caller's cancel (DC, not
 * reported to outlier detection), and the same MeshCallErrors (flags, status, attempts).
 */
class DirectCall extends AttemptStop implements AttemptRequest, AttemptSettler<AttemptResponse>, CancelListener, PickContext, FirstAttempt, DeadlineNode {
  // ---- AttemptRequest (host, path, authority and header mutation are set by routed())
  host!: Host;
  path = '';
  authority = '';
  headerMutation!: HeaderMutation;
  // (What can be read from the policy or the engine is a getter: a field costs 8 bytes per call.)

  private breakers: CircuitBreaker | undefined = undefined;
  // ---- FirstAttempt (read by CallEngine.continueCall)
  clusterRuntime!: CallCluster;
  /** PENDING and DONE (a field costs 8 bytes per call; the two booleans share one). */
  private bits = 0;
  /** FirstAttempt: the attempt holds a max_pending_requests slot (it would wait for a connection). */
  get pending(): boolean {
    return (this.bits & PENDING) !== 0;
  }
  /** The attempt settled, or the caller cancelled first. */
  private get done(): boolean {
    return (this.bits & DONE) !== 0;
  }
  // ---- DeadlineNode: the call is its first attempt's timer (RouteCallPolicy.firstAttemptTimer) itself; its start is the call's
  /** @internal */ prev: DeadlineNode | undefined = undefined;
  /** @internal */ next: DeadlineNode | undefined = undefined;
  /** @internal */ list: DeadlineList | undefined = undefined;

  private constructor(
    private readonly engine: CallEngine,
    readonly snapshot: CallSnapshot,
    readonly picked: PickedCluster,
    readonly policy: RouteCallPolicy,
    readonly request: LogicalRequest,
    readonly transport: AttemptTransport<AttemptResponse>,
    readonly sink: CallSink<AttemptResponse>,
    /** When the call started (engine clock); DeadlineNode's start too: the timer runs from it. */
    public start: number,
  ) {
    super();
  }

  get attemptCount(): number {
    return 1;
  }

  /** FirstAttempt: the matched route (its policy's: the call keeps one of the two). */
  get route(): CompiledRoute {
    return this.policy.route;
  }

  get includeAttemptCount(): boolean {
    return this.policy.includeAttemptCount;
  }

  /** The first attempt's budget (RouteCallPolicy.firstAttemptTimeoutMs). */
  get expectedTimeoutMs(): number | undefined {
    return this.policy.firstAttemptTimeoutMs;
  }

  /**
   * True when the route has no retry policy in effect: no other attempt will follow, the transport
   * need keep nothing for a replay. False: a retry may follow (continueCall), the transport keeps the request.
   */
  get lastAttempt(): boolean {
    return !this.policy.retry.enabled;
  }

  /** PickContext (no hash policy, no previous hosts: the first attempt's pick): the engine's random source. */
  get random(): () => number {
    return this.engine.random;
  }

  /** AttemptRequest: the picked cluster's name. */
  get cluster(): string {
    return this.picked.name;
  }

  /** Envoy's router order up to the attempt, as CallEngine.route and afterFault run it for such a route. Throws the call's failure. */
  static routed(
    engine: CallEngine,
    snapshot: CallSnapshot,
    match: RouteMatchResult,
    policy: RouteCallPolicy,
    request: LogicalRequest,
    transport: AttemptTransport<AttemptResponse>,
    sink: CallSink<AttemptResponse>,
  ): DirectCall {
    const start = engine.now();
    const route = match.route;
    const view = request.view;
    const ra = route.route.route!;
    const picked = route.clusterPicker?.pick(engine.random(), view.headers);
    if (picked === undefined) throw callError(snapshot.target, route.name, undefined, ResponseFlag.NO_CLUSTER_FOUND, clusterNotFoundStatus(ra), NO_ATTEMPTS, 'no cluster for the request');
    const cluster = snapshot.cluster(picked.name);
    if (cluster === undefined) throw callError(snapshot.target, route.name, picked.name, ResponseFlag.NO_CLUSTER_FOUND, clusterNotFoundStatus(ra), NO_ATTEMPTS);
    const call = new DirectCall(engine, snapshot, picked, policy, request, transport, sink, start);
    // gRFC A32: gRPC calls count against the DEFAULT thresholds (no priority routing).
    const breakers = cluster.breakersFor(engine.kind === 'http' ? ra.priority : undefined);
    if (!breakers.tryAcquireRequest()) throw call.fail(ResponseFlag.UPSTREAM_OVERFLOW, 503, NO_ATTEMPTS);
    try {
      call.path = route.rewritePath(view.path);
      call.authority = route.rewriteHost(view.headers, picked) ?? view.authority;
      call.headerMutation = route.headerMutationFor(picked);
      const host = cluster.pick(call);
      if (host === undefined) throw call.fail(ResponseFlag.NO_HEALTHY_UPSTREAM, 503, NO_ATTEMPTS);
      call.host = host;
      if (route.autoHostRewrite) call.authority = route.rewriteHost(view.headers, picked, host.upstreamHostname) ?? view.authority;
    } catch (err) {
      breakers.releaseRequest();
      throw err;
    }
    call.breakers = breakers;
    call.clusterRuntime = cluster;
    return call;
  }

  startAttempt(): void {
    const { request, transport } = this;
    // max_pending_requests: an attempt that must wait for a connection holds a pending slot until its head.
    const pending = transport.wouldQueue?.(this) === true;
    if (pending && !this.breakers!.tryAcquirePending()) {
      this.releaseSlot();
      this.sink.callFailed(this.fail(ResponseFlag.UPSTREAM_OVERFLOW, 503, NO_ATTEMPTS, 'max_pending_requests reached'));
      return;
    }
    if (pending) this.bits |= PENDING;
    this.host.activeRequests++;
    // The call itself listens for the caller's cancel (no closure per call; see Call.stopBeforeWait).
    // (Unsubscribed once, as the attempt ends: attemptOver or continueInEngine.)
    request.signal?.addEventListener('abort', this, { once: true });
    request.cancellation?.setCancelListener(this);
    const timeoutMs = this.policy.firstAttemptTimeoutMs;
    if (timeoutMs !== undefined) this.engine.timers.arm(this, timeoutMs, this.start);
    try {
      transport.startAttempt!(this, this);
    } catch (err) {
      // A transport that throws instead of settling: the attempt failed with what it threw.
      this.rejected(err);
    }
  }

  // ---- AttemptSettler

  resolved(response: AttemptResponse): void {
    if (this.done) return discardLate(response);
    if (!this.lastAttempt && this.policy.retry.retriesResponse(response.status, response.headers, response.grpcStatus)) return this.continueInEngine(response, undefined);
    this.attemptOver();
    this.clusterRuntime!.reportResult(this.host, responseResult(response.status, response.grpcStatus));
    // The max_requests slot is held until the response stream ends (streamEnded).
    if (response.onStreamEnd === undefined) this.releaseSlot();
    else response.onStreamEnd(this);
    this.sink.callResponded(response);
  }

  rejected(error: unknown): void {
    if (this.done) return;
    const outcome = outcomeOf(error);
    if (!this.lastAttempt && this.policy.retry.classify(outcome) !== undefined) return this.continueInEngine(undefined, error);
    this.attemptOver();
    this.clusterRuntime!.reportResult(this.host, LOCAL_FAILURE);
    this.releaseSlot();
    const flag = outcome.kind === 'connect-failure' ? ResponseFlag.UPSTREAM_CONNECTION_FAILURE : ResponseFlag.UPSTREAM_REMOTE_RESET;
    this.sink.callFailed(this.fail(flag, 503, [this.record(outcome)], undefined, error));
  }

  // ---- the caller's cancel (CancelListener, or the EventListener of the request's signal)

  callerCancelled(): void {
    if (this.done) return;
    this.attemptOver();
    this.stop(new Error('cancelled'));
    this.releaseSlot();
    const { signal, cancellation } = this.request;
    const cause = signal?.aborted === true ? signal.reason : cancellation?.reason;
    this.sink.callFailed(this.fail(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION, 499, [this.record(CALLER_RESET)], undefined, cause));
  }

  handleEvent(): void {
    this.callerCancelled();
  }

  /**
   * DeadlineNode: the first attempt's timer passed. The attempt is stopped and the engine goes on as its full
   * path goes on after that timer: a per-try timeout is retried per the policy (UT when it is not), the route
   * timeout fails the call UT 504.
   */
  deadlinePassed(): void {
    if (this.done) return;
    const timer = this.policy.firstAttemptTimer!;
    this.bits |= DONE;
    this.stop(new Error(timer === 'route' ? 'route timeout' : 'per-try timeout'));
    this.continueInEngine(undefined, undefined, timer);
  }

  /** CancelListener: no backoff waits for a replay here. */
  requestNotReplayable(): void {}

  /** StreamEndObject: the response stream ended, and with it the call's max_requests slot. */
  streamEnded(): void {
    this.releaseSlot();
  }

  /** FirstAttempt: the engine takes the max_requests slot over. */
  handOverSlot(): CircuitBreaker {
    const breakers = this.breakers!;
    this.breakers = undefined;
    return breakers;
  }

  /**
   * The attempt's outcome is one the route's retry policy retries: the engine's full path takes the call
   * over from there (it releases the attempt's host load and pending slot, reports and records it, and
   * decides: retry after a backoff, or the outcome stands when the request is no longer replayable,
   * retriable_request_headers do not match or the max_retries breaker is full).
   */
  private continueInEngine(response: AttemptResponse | undefined, error: unknown, timedOut?: CallTimer): void {
    this.bits |= DONE;
    disarm(this);
    this.unsubscribe();
    this.engine.continueCall(this, response, error, timedOut);
  }

  private attemptOver(): void {
    this.bits |= DONE;
    disarm(this);
    this.host.activeRequests--;
    if (this.pending) this.breakers!.releasePending();
    this.unsubscribe();
  }

  /** Once, as the attempt ends (its callers run only while it is not done): startAttempt subscribed it. */
  private unsubscribe(): void {
    this.request.signal?.removeEventListener('abort', this);
    this.request.cancellation?.setCancelListener(undefined);
  }

  /** Releases the max_requests slot (once). */
  private releaseSlot(): void {
    const breakers = this.breakers;
    this.breakers = undefined;
    breakers?.releaseRequest();
  }

  private record(outcome: AttemptOutcome): AttemptRecord {
    return { host: this.host, outcome, durationMs: this.engine.now() - this.start };
  }

  private fail(flag: ResponseFlagCode, status: number, attempts: readonly AttemptRecord[], detail?: string, cause?: unknown): MeshCallError {
    return callError(this.snapshot.target, this.policy.route.name, this.picked.name, flag, status, attempts, detail, cause);
  }
}

/** The call's failure: Call.fail's MeshCallError for a call of one attempt at most. */
function callError(target: string, route: string | undefined, cluster: string | undefined, flag: ResponseFlagCode, status: number, attempts: readonly AttemptRecord[], detail?: string, cause?: unknown): MeshCallError {
  const flags = [flag];
  return new MeshCallError({ target, route, cluster, flags, attempts, localReply: meshFailureReply(status, flags), detail, cause });
}

const NO_ATTEMPTS: readonly AttemptRecord[] = Object.freeze([]);

/** DirectCall.bits */
const PENDING = 1;
const DONE = 2;
