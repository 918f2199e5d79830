import { AsyncResource } from 'node:async_hooks';
import type { Host } from '../cluster/Host.js';
import type { PickContext } from '../cluster/PickContext.js';
import { PreviousPriorities } from '../retry/PreviousPriorities.js';
import type { CircuitBreaker } from '../cluster/CircuitBreaker.js';
import type { CompiledRoute, CompiledVirtualHost, PickedCluster, RouteMatchResult } from '../routing/index.js';
import type { AttemptOutcome, RetryReason } from '../retry/AttemptOutcome.js';
import { FaultConfigResolver } from '../fault/FaultConfigResolver.js';
import type { HeaderMutation } from '../routing/HeaderMutation.js';
import type { FaultDecision } from '../fault/FaultInjector.js';
import {
  AttemptError,
  type AttemptRequest,
  type AttemptResponse,
  type AttemptSettler,
  type AttemptStopListener,
  type AttemptTransport,
  type CancelListener,
  type LogicalRequest,
} from './AttemptTransport.js';
import { CALLER_RESET, LOCAL_FAILURE, attemptResult, discardLate, outcomeOf } from './AttemptResults.js';
import { AttemptStop } from './AttemptStop.js';
import type { CallObserver } from './CallObserver.js';
import type { CallCluster, CallSnapshot } from './CallSnapshot.js';
import type { Random } from './HeaderLookup.js';
import { MeshCallError, clusterNotFoundStatus, meshFailureReply, type AttemptRecord, type LocalReply } from './MeshCallError.js';
import { ResponseFlag, type ResponseFlagCode } from './ResponseFlags.js';
import { RouteCallPolicy, attemptBudgetMs, expectedTimeoutMs, perTryBounds, type CallTimer } from './RouteCallPolicy.js';
import { Deadline, DeadlineTimers, type DeadlineOwner } from './DeadlineTimers.js';
import { startDirectCall } from './DirectCall.js';
import type { StreamEnd, StreamEndObject } from './StreamCompletion.js';

export interface CallEngineOptions {
  /** 'grpc' applies gRFC A44 retry and A31 timeout semantics. */
  readonly kind: 'http' | 'grpc';
  readonly random?: Random;
  /** Monotonic ms clock. */
  readonly now?: () => number;
  readonly observer?: CallObserver;
}


/** Why an in-flight wait ended early. */
const enum Stop {
  None,
  PerTry,
  Route,
  Caller,
}

/**
 * One logical call = N attempts, transport-neutral (HTTP and gRPC share it). Follows Envoy's
 * router order: route match (NR / direct_response / redirect), cluster pick, fault filter
 * (delay, then abort; for HTTP the route timeout starts after the delay, for gRPC it includes it), circuit breaker (max_requests),
 * host pick (UH), attempts with per-try timeout, retries with jittered backoff, previous_hosts
 * avoidance and max_retries, all inside the route timeout, each attempt reported to outlier
 * detection.
 */
export class CallEngine {
  readonly kind: 'http' | 'grpc';
  /** @internal the random source, read by the engine's calls for host picks. */
  readonly random: Random;
  /** @internal monotonic ms clock, read by the engine's calls. */
  readonly now: () => number;
  private readonly observer: CallObserver | undefined;
  private readonly faults = new FaultConfigResolver();
  /** @internal the engine's deadline timers, armed by its calls. */
  readonly timers: DeadlineTimers;
  /** @internal whether calls keep their caller's async context for later steps (an observer may read it). */
  readonly observed: boolean;

  constructor(options: CallEngineOptions) {
    this.kind = options.kind;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? performance.now.bind(performance);
    this.observer = options.observer;
    this.observed = options.observer !== undefined;
    this.timers = new DeadlineTimers(this.now);
    this.directCalls = options.observer === undefined;
  }

  /**
   * Calls without an observer whose route has no hash policy (RouteCallPolicy.directFirstAttempt) run their
   * first attempt as a DirectCall: no retry or fault state and one timer, one object per call instead of
   * Call, its attempt and its deadlines; a first attempt its route's retry policy retries, or whose timer
   * passes, goes on in a Call (continueCall). An observer reads the Call's records, so observed engines
   * always take the full path.
   */
  private readonly directCalls: boolean;

  /**
   * Runs the call and resolves with the response the transport should deliver. The call stays
   * active after that until the response stream completes (`AttemptResponse.onStreamEnd`): Envoy's
   * router holds the `max_requests` slot (and the fault filter its `max_active_faults` slot)
   * for the life of the stream, so a long server stream or a slow body counts against the
   * breaker until it ends, and `onCallEnd` reports the whole stream's duration, as Envoy's
   * access log does. A Promise over `start`.
   */
  execute<R extends AttemptResponse>(snapshot: CallSnapshot, request: LogicalRequest, transport: AttemptTransport<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => this.start<R>(snapshot, request, transport, { callResponded: resolve, callFailed: reject }));
  }

  /**
   * The same as `execute`, reporting to `sink` instead of returning a Promise. The call is a state
   * machine driven by callbacks (the attempt settling, a timer, the caller cancelling), not an async
   * function: each suspended async frame kept about 1 KB per call alive and each await cost a
   * microtask turn, which showed up as a third of Meshlet's own allocation on the HTTP path.
   * `sink` may be told before `start` returns (no route, a local reply, an attempt that failed at once).
   */
  start<R extends AttemptResponse>(snapshot: CallSnapshot, request: LogicalRequest, transport: AttemptTransport<R>, sink: CallSink<R>): void {
    let matched: RouteMatchResult | null | undefined;
    if (this.directCalls && !(request.signal?.aborted === true || request.cancellation?.aborted === true)) {
      try {
        matched = snapshot.routeTable.match(request.view, this.random) ?? null;
      } catch {
        matched = undefined; // the full path matches again and fails the call with what match throws
      }
      if (matched != null && startDirectCall(this, snapshot, matched, request, transport as AttemptTransport<AttemptResponse>, sink as CallSink<AttemptResponse>)) return;
    }
    const call = new Call(this, snapshot, request, transport as AttemptTransport<AttemptResponse>, sink as CallSink<AttemptResponse>, this.now());
    try {
      this.route(call, matched);
    } catch (err) {
      this.fail(call, err);
    }
  }

  /** The call delivers `response`: slots are released when its stream ends. */
  private respond(call: Call, response: AttemptResponse): void {
    call.releaseRetry();
    call.settle();
    if (response.onStreamEnd === undefined) {
      call.end(this.observer, response.status, undefined);
    } else if (this.observer === undefined) {
      // The call itself is told (streamEnded): no closure per call. Only the observer reads the status.
      response.onStreamEnd(call);
    } else {
      response.onStreamEnd(observedEnd(call, this.observer, response.status));
    }
    call.sink.callResponded(response);
  }

  /** The call fails with `err` (a MeshCallError for local replies): slots are released now. */
  private fail(call: Call, err: unknown): void {
    // Thrown after the sink was told (by the sink itself): let it surface where it was thrown.
    if (call.over) throw err;
    call.releaseRetry();
    call.settle();
    // The slots go first (a caller that retries from its error callback finds them free), the
    // observer last: the transport's local reply for the failure is made by the sink, so its size
    // is known when the call is reported (Istio's response_bytes of a 503 UH, as Envoy counts it).
    call.releaseSlots();
    try {
      call.sink.callFailed(err);
    } finally {
      call.end(this.observer, err instanceof MeshCallError ? err.localReply.status : undefined, err);
    }
  }

  /**
   * A wait of the call ended (its attempt settled or was stopped, a backoff or fault delay passed):
   * the call goes on from there. Called from transport callbacks and timers, so with an observer the
   * rest of the call runs in the caller's async context, as it did after an await.
   */
  /** @internal (Call's; typed loosely so that the declaration names no module-private type) */
  resume(c: object, wait: number, stop: number): void {
    const call = c as Call;
    const scope = call.scope;
    if (scope === undefined) this.step(call, wait, stop);
    else scope.runInAsyncScope(this.step, this, call, wait, stop);
  }

  private step(call: Call, wait: Wait, stop: Stop): void {
    if (call.over) return;
    try {
      if (wait === Wait.Attempt) this.afterAttempt(call, stop);
      else if (stop !== Stop.None) throw stop === Stop.Caller ? call.cancelled() : call.timeout();
      else if (wait === Wait.Backoff) {
        // gRFC A44: a request that outgrew the transport's retry buffer commits the call to its attempt
        // in progress. In a backoff there is none, and the next attempt could replay only part of the
        // request (a truncated stream the server would take as whole): the call fails instead.
        if (!call.request.replayable) throw call.fail(ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED, 503, 'retry abandoned: the request outgrew the retry buffer during the backoff');
        this.nextAttempt(call);
      } else this.afterFault(call);
    } catch (err) {
      this.fail(call, err);
    }
  }

  /**
   * Routing and the filters before the router. Throws the call's failure; ends in a local reply,
   * a fault delay (timer) or the first attempt.
   */
  private route(call: Call, matched: RouteMatchResult | null | undefined): void {
    const { snapshot, request, transport } = call;
    const view = request.view;
    const random = this.random;
    if (call.callerAborted()) throw call.fail(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION, 499, 'cancelled before start', call.callerReason());

    // `matched`: start() already matched the route (null: none matched) for a call that may run direct.
    const match = matched === undefined ? snapshot.routeTable.match(view, random) : (matched ?? undefined);
    if (match === undefined) throw call.fail(ResponseFlag.NO_ROUTE_FOUND, 404);
    const route: CompiledRoute = match.route;
    const vh: CompiledVirtualHost = match.virtualHost;
    call.route = route;

    switch (route.action) {
      // Envoy's router runs DirectResponseEntry::finalizeResponseHeaders on direct_response and redirect
      // replies: the route / vhost / route-config response_headers_to_add/remove apply to them too.
      case 'direct_response': {
        const dr = route.route.direct_response!;
        const headers = responseHeaders(route.headerMutationFor(undefined), {});
        return this.respond(call, transport.localReply({ ...call.reply(dr.status, undefined, dr.body), ...(headers ? { headers } : {}) }));
      }
      case 'redirect': {
        const r = route.redirectLocation(view);
        if (r === undefined) throw call.fail(ResponseFlag.NO_ROUTE_FOUND, 404);
        const headers = responseHeaders(route.headerMutationFor(undefined), { location: r.location }) ?? { location: r.location };
        return this.respond(call, transport.localReply({ status: r.status, headers, flags: call.flags }));
      }
      case 'non_forwarding':
        throw call.fail(ResponseFlag.NO_ROUTE_FOUND, 404, 'route has a non_forwarding_action');
      case 'route':
        break;
    }

    const ra = route.route.route!;
    const picked: PickedCluster | undefined = route.clusterPicker?.pick(random(), view.headers);
    const notFound = clusterNotFoundStatus(ra);
    if (picked === undefined) throw call.fail(ResponseFlag.NO_CLUSTER_FOUND, notFound, 'no cluster for the request');
    call.picked = picked;
    const cluster = snapshot.cluster(picked.name);
    if (cluster === undefined) throw call.fail(ResponseFlag.NO_CLUSTER_FOUND, notFound);

    const policy = RouteCallPolicy.for(route, vh, this.kind, snapshot.maxStreamDuration);
    // gRPC (gRFC A33): a fault delay counts toward the call's deadline. HTTP (Envoy): the router's
    // route timeout starts when the request reaches it, i.e. after the fault filter's delay (below).
    if (policy.timeoutMs > 0 && this.kind === 'grpc') call.setDeadline(policy.timeoutMs, call.start);

    // Fault filter (runs after route + weighted cluster resolution, as in Envoy's filter chain).
    const injector = this.faults.resolve(
      snapshot.fault,
      snapshot.faultFilterName,
      picked.weight?.typed_per_filter_config,
      route.route.typed_per_filter_config,
      vh.virtualHost.typed_per_filter_config,
    );
    const fault = injector?.evaluate(view.headers, picked.name, random);
    call.cluster = cluster;
    call.policy = policy;
    if (fault !== undefined) {
      call.fault = fault;
      if (fault.delayMs > 0) {
        // The fault filter's delay, then afterFault (see step).
        call.flags.push(ResponseFlag.DELAY_INJECTED);
        return call.sleep(fault.delayMs, Wait.FaultDelay);
      }
    }
    this.afterFault(call);
  }

  /** The fault filter's abort (a local reply), else the router: route timeout (HTTP), max_requests, then the attempts. */
  private afterFault(call: Call): void {
    const fault = call.fault;
    if (fault !== undefined && (fault.abortHttpStatus !== undefined || fault.abortGrpcStatus !== undefined)) {
      call.flags.push(ResponseFlag.FAULT_INJECTED);
      return this.respond(call, call.transport.localReply(call.reply(fault.abortHttpStatus ?? 200, fault.abortGrpcStatus, 'fault filter abort')));
    }
    const policy = call.policy!;
    if (policy.timeoutMs > 0 && this.kind === 'http') call.setDeadline(policy.timeoutMs, call.routerStart());

    // RouteAction.priority picks the threshold set; the call keeps it for its pending and retry slots too.
    // gRFC A32: gRPC has no priority routing, its calls count against the DEFAULT thresholds.
    const breakers = (call.breakers = call.cluster!.breakersFor(this.kind === 'http' ? call.route!.route.route?.priority : undefined));
    if (!breakers.tryAcquireRequest()) throw call.fail(ResponseFlag.UPSTREAM_OVERFLOW, 503);
    // Released when the call ends: at once on failure, else when the response stream completes.
    call.holdRequestSlot(breakers);

    // What every attempt of the call shares, worked out once.
    const route = call.route!;
    const { request } = call;
    const view = request.view;
    call.canRetry = canRetry(policy, request);
    call.hash = policy.hasher?.hash({ request: view, sourceIp: request.sourceIp });
    call.path = route.rewritePath(view.path);
    call.authority = route.rewriteHost(view.headers, call.picked!) ?? view.authority;
    call.headerMutation = route.headerMutationFor(call.picked!);
    this.nextAttempt(call);
  }

  /**
   * @internal A DirectCall's first attempt ended with an outcome its route's retry policy retries (it
   * ran on a route with RouteCallPolicy.directFirstAttempt): the call goes on as a full Call that has
   * made that attempt, from afterAttempt on (the attempt's release, outlier report, record, retry
   * decision, max_retries breaker, backoff), exactly as if the full path had run it. The Call takes over
   * the max_requests slot, the attempt's host load and pending slot; the DirectCall no longer listens
   * for the caller's cancel (the Call subscribes before its backoff). `timedOut`: the attempt was stopped
   * by its timer (the DirectCall's one: the per-try timeout, or the route timeout), and the Call goes on
   * as after that stop; otherwise the Call arms the route deadline, which the DirectCall did not.
   */
  continueCall(first: FirstAttempt, response: AttemptResponse | undefined, error: unknown, timedOut?: CallTimer): void {
    const call = new Call(this, first.snapshot, first.request, first.transport, first.sink, first.start);
    const policy = first.policy;
    const breakers = first.handOverSlot();
    call.route = first.route;
    call.picked = first.picked;
    call.cluster = first.clusterRuntime;
    call.policy = policy;
    call.breakers = breakers;
    call.holdRequestSlot(breakers);
    call.canRetry = canRetry(policy, first.request);
    call.path = first.path;
    call.authority = first.authority;
    call.headerMutation = first.headerMutation;
    call.attemptNo = 1;
    call.host = first.host;
    call.attemptStarted = first.start;
    call.attemptPending = first.pending;
    const attempt = new EngineAttempt(first.host, first.picked.name, first.path, first.authority, first.headerMutation, 1, policy.includeAttemptCount, first.expectedTimeoutMs);
    attempt.done = true;
    attempt.value = response;
    attempt.error = error;
    call.attempt = attempt;
    // The route deadline is where the full path set it (the call's start: no fault filter ran); a route timeout has passed it.
    if (policy.timeoutMs > 0 && timedOut !== 'route') call.setDeadline(policy.timeoutMs, first.start);
    this.step(call, Wait.Attempt, timedOut === undefined ? Stop.None : timedOut === 'route' ? Stop.Route : Stop.PerTry);
  }

  /** Picks a host and starts the next attempt; its race ends in afterAttempt (see step). */
  private nextAttempt(call: Call): void {
    const cluster = call.cluster!;
    const retry = call.policy!.retry;
    call.attemptNo++;
    // previous_hosts: the hosts tried so far. The Set is made when a retry needs it, not per call.
    if (retry.avoidPreviousHosts && call.host !== undefined) (call.tried ??= new Set()).add(call.host);
    // previous_priorities: the priority of the attempt just made; made at the first retry, not per call.
    if (retry.previousPrioritiesEvery > 0 && call.host !== undefined) (call.priorities ??= new PreviousPriorities(retry.previousPrioritiesEvery)).attemptedOn(call.host.priority);
    // The call is its own PickContext (its getters read the retry policy): no object per pick.
    const host = cluster.pick(call);
    if (host === undefined) throw call.fail(ResponseFlag.NO_HEALTHY_UPSTREAM, 503);
    call.host = host;

    // One clock read per attempt start (performance.now() allocates): the budget, the attempt's
    // start time and the race's checks all use it. The first attempt starts as the call reaches
    // the router (routerStart: no second read).
    const now = call.attemptNo === 1 ? call.routerStart() : this.now();
    const perTry = retry.perTryTimeoutMs;
    const attemptBudget = attemptBudgetMs(perTry, call.deadline - now);
    const route = call.route!;
    const attempt = new EngineAttempt(
      host,
      call.picked!.name,
      call.path,
      // auto_host_rewrite: each attempt's own host names the authority.
      route.autoHostRewrite ? (route.rewriteHost(call.request.view.headers, call.picked, host.upstreamHostname) ?? call.request.view.authority) : call.authority,
      call.headerMutation!,
      call.attemptNo,
      call.policy!.includeAttemptCount,
      expectedTimeoutMs(attemptBudget),
    );
    // circuit_breakers max_pending_requests: an attempt that must wait for a connection holds a
    // pending slot until it gets its response head (Envoy frees it at connection assignment, a
    // little earlier); none left = overflow at once, like max_requests.
    const breakers = call.breakers!;
    const pending = call.transport.wouldQueue?.(attempt) === true;
    if (pending && !breakers.tryAcquirePending()) {
      call.releaseRetry();
      throw call.fail(ResponseFlag.UPSTREAM_OVERFLOW, 503, 'max_pending_requests reached');
    }
    this.observer?.onAttemptStart?.(attempt);
    call.attemptStarted = now;
    call.attemptPending = pending;
    host.activeRequests++;
    call.race(perTry, attempt, now);
  }

  /** An attempt's race ended: release what it held, then conclude (deliver, retry after a backoff, or fail). */
  private afterAttempt(call: Call, stop: Stop): void {
    const attempt = call.attempt!;
    const host = attempt.host;
    host.activeRequests--;
    if (call.attemptPending) call.breakers!.releasePending();
    call.releaseRetry();
    // `replayable` is read again: a streamed request (gRPC) can outgrow the transport's replay buffer after the
    // call started, and is then committed to its attempt (gRFC A44).
    const canRetry = call.canRetry && call.request.replayable;
    const next = this.conclude(call, call.cluster!, host, attempt, stop, attempt.value as AttemptResponse | undefined, attempt.error, call.attemptStarted, canRetry, call.attemptNo);
    if (next !== RETRY) return this.respond(call, next);
    call.holdingRetry = true;
    call.sleep(call.policy!.retry.backoffMs(call.attemptNo, this.random), Wait.Backoff);
  }

  /**
   * After an attempt's race: records it, reports it to outlier detection and the observer, and
   * decides. Returns the response to deliver, or RETRY once it holds a retry slot (the retried
   * response is released); throws the call's failure.
   */
  private conclude<R extends AttemptResponse>(
    call: Call,
    cluster: CallCluster,
    host: Host,
    attempt: EngineAttempt,
    stop: Stop,
    response: R | undefined,
    cause: unknown,
    started: number,
    canRetry: boolean,
    attemptNo: number,
  ): R | typeof RETRY {
    if (stop === Stop.Caller) {
      response?.discard();
      call.record(host, CALLER_RESET, started, this.now());
      throw call.cancelled();
    }
    if (stop === Stop.Route) {
      response?.discard();
      const rec = call.record(host, { kind: 'per-try-timeout' }, started, this.now());
      cluster.reportResult(host, LOCAL_FAILURE);
      this.observer?.onAttemptEnd?.(attempt, rec, undefined);
      throw call.timeout();
    }
    let outcome: AttemptOutcome;
    if (stop === Stop.PerTry) {
      response?.discard();
      response = undefined;
      outcome = PER_TRY_TIMEOUT;
    } else if (response !== undefined) {
      outcome = { kind: 'response', status: response.status, headers: response.headers, grpcStatus: response.grpcStatus };
    } else {
      outcome = outcomeOf(cause);
    }
    cluster.reportResult(host, attemptResult(outcome));
    const retry = call.policy!.retry;
    const reason: RetryReason | undefined = canRetry ? retry.classify(outcome) : undefined;
    // The attempt's record is read by the observer and, if the call goes on to fail, by its
    // MeshCallError. A response delivered with no observer needs none: no record, array or clock
    // read per call on the common path.
    const observer = this.observer;
    const record = observer === undefined ? undefined : call.record(host, outcome, started, this.now());
    if (record !== undefined) observer!.onAttemptEnd?.(attempt, record, reason);
    if (reason !== undefined) {
      if (attemptNo > retry.maxRetries) {
        call.flags.push(ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED);
      } else if (call.breakers!.tryAcquireRetry()) {
        // Release the retried response's body now, not after the backoff.
        response?.discard();
        if (record === undefined) call.record(host, outcome, started, this.now());
        return RETRY;
      } else {
        // max_retries / retry_budget overflow: the current outcome stands (Envoy upstream_rq_retry_overflow),
        // and Envoy's router flags the stream UO on RetryStatus::NoOverflow (a reset's local reply reads "UF,UO").
        call.flags.push(ResponseFlag.UPSTREAM_OVERFLOW);
        call.detail = 'retry circuit breaker open';
      }
    }
    if (response !== undefined) return response;
    if (record === undefined) call.record(host, outcome, started, this.now());
    if (!canRetry && !call.request.replayable && retry.enabled && retry.classify(outcome) !== undefined) {
      call.detail = 'not retried: request body is not replayable';
    }
    throw call.failAttempt(outcome, cause);
  }
}

/** Whether the call's attempts may be retried (decided once, as it reaches the router; `replayable` is read again after each attempt). */
function canRetry(policy: RouteCallPolicy, request: LogicalRequest): boolean {
  const retry = policy.retry;
  return retry.enabled && request.replayable && retry.appliesTo(request.view.headers);
}

/**
 * @internal What a DirectCall hands to CallEngine.continueCall: its routing, its first attempt (host,
 * start, pending slot) and, through handOverSlot, its max_requests slot.
 */
export interface FirstAttempt {
  readonly snapshot: CallSnapshot;
  readonly request: LogicalRequest;
  readonly transport: AttemptTransport<AttemptResponse>;
  readonly sink: CallSink<AttemptResponse>;
  readonly start: number;
  readonly route: CompiledRoute;
  readonly picked: PickedCluster;
  readonly clusterRuntime: CallCluster;
  readonly policy: RouteCallPolicy;
  readonly path: string;
  readonly authority: string;
  readonly headerMutation: HeaderMutation;
  readonly expectedTimeoutMs: number | undefined;
  readonly host: Host;
  readonly pending: boolean;
  /** The breakers whose max_requests slot the call holds, now the engine's to release. */
  handOverSlot(): CircuitBreaker;
}

/** conclude(): the attempt is retried (the call holds a retry slot). */
const RETRY = Symbol('retry');

/** A local reply's headers after the route's response header mutation; undefined when there is none. */
function responseHeaders(mutation: HeaderMutation, base: Record<string, string>): Record<string, string> | undefined {
  if (mutation.isEmpty) return undefined;
  const h: Record<string, string> = { ...base };
  mutation.applyToResponse({
    has: (n) => n in h,
    set: (n, v) => void (h[n] = v),
    append: (n, v) => void (h[n] = n in h ? `${h[n]},${v}` : v),
    delete: (n) => void delete h[n],
  });
  return h;
}

const PER_TRY_TIMEOUT: AttemptOutcome = { kind: 'per-try-timeout' };

function ignore(): void {}

/**
 * One attempt's request. Its AbortSignal is created only when a transport reads `signal`: one that
 * uses `onStop` instead (the HTTP transport) costs no AbortController/AbortSignal per attempt.
 */
class EngineAttempt extends AttemptStop implements AttemptRequest, AttemptSettler<unknown> {
  /** What the transport's send settled with (read by the engine after the race). */
  value: unknown = undefined;
  error: unknown = undefined;
  /** The race is over: the send settled, or the attempt was stopped first. */
  done = false;
  /** The call whose wait (Call.race) this attempt's settling ends; set when the race starts. */
  call: Call | undefined;

  constructor(
    readonly host: Host,
    readonly cluster: string,
    readonly path: string,
    readonly authority: string,
    readonly headerMutation: HeaderMutation,
    readonly attemptCount: number,
    readonly includeAttemptCount: boolean,
    readonly expectedTimeoutMs: number | undefined,
  ) {
    super();
  }

  /** AttemptSettler: the transport got a response head. A response after a stop is released. */
  resolved(response: unknown): void {
    if (this.done) return discardLate(response);
    this.value = response;
    this.call!.settled();
  }

  /** AttemptSettler: the transport got no response. */
  rejected(error: unknown): void {
    if (this.done) return;
    this.error = error;
    this.call!.settled();
  }
}

/** A call's attempts before its first (never written: record() replaces it). */
const NO_ATTEMPTS = Object.freeze([]) as unknown as AttemptRecord[];

/** What a call is waiting for (at most one thing at a time). */
const enum Wait {
  None,
  /** An attempt's response head, its per-try timeout, the route deadline or the caller's cancel. */
  Attempt,
  /** A retry backoff. */
  Backoff,
  /** The fault filter's delay. */
  FaultDelay,
}

/** Where a call started with `CallEngine.start` reports how it ended: exactly one of the two, once. */
export interface CallSink<R> {
  /** The response to deliver (the call stays active until its stream ends). */
  callResponded(response: R): void;
  /** The call failed: a MeshCallError (a local reply) or what went wrong. */
  callFailed(error: unknown): void;
}

/**
 * Per-call state, one object per call, and the call's progress between callbacks: the route
 * deadline and the per-try timeout are two reusable Deadlines on the engine's shared timers, and
 * the caller's cancellation is subscribed once per call, not once per attempt.
 */
class Call implements DeadlineOwner, PickContext, CancelListener, StreamEndObject {
  fault: FaultDecision | undefined;
  /**
   * What routing chose, once routed (the fault step, the router and the attempts read them): the route
   * once matched, the cluster once picked (their names are the call's route and cluster in errors and
   * in the observer's summary, also when the cluster turns out not to exist).
   */
  route: CompiledRoute | undefined;
  picked: PickedCluster | undefined;
  cluster: CallCluster | undefined;
  /** The cluster's breakers for the route's priority. */
  breakers: CircuitBreaker | undefined;
  policy: RouteCallPolicy | undefined;
  // ---- what every attempt shares (set once routed)
  canRetry = false;
  /** PickContext: the route's hash_policy hash (previous_hosts, selection retries and random are getters below). */
  hash: bigint | undefined;
  path = '';
  authority = '';
  headerMutation: HeaderMutation | undefined;
  // ---- the attempts so far
  attemptNo = 0;
  /** previous_hosts: made when a retry needs it. */
  tried: Set<Host> | undefined;
  /** retry_priority previous_priorities: made when a retry needs it. */
  priorities: PreviousPriorities | undefined;
  /** The current (or last) attempt's host. */
  host: Host | undefined;
  /** The attempt being raced, and when it started / whether it holds a pending slot. */
  attempt: EngineAttempt | undefined;
  attemptStarted = 0;
  attemptPending = false;
  /** The call holds a retry slot (from a retry decision until that retry's attempt ends). */
  holdingRetry = false;
  /** The breakers whose max_requests slot this call holds, until end(). */
  private requestSlot: CircuitBreaker | undefined;
  private ended = false;
  private faultReleased = false;
  /** The sink was told (responded or failed): later callbacks are ignored. */
  over = false;
  deadline = Number.POSITIVE_INFINITY;
  readonly flags: ResponseFlagCode[] = [];
  /** Starts as the shared empty list; the first record makes a one-element array (push to [] would reserve 17 slots). */
  attempts: AttemptRecord[] = NO_ATTEMPTS;
  detail: string | undefined;
  /** With an observer: the caller's async context, for the call's later steps and its end (see CallEngine.resume). */
  readonly scope: AsyncResource | undefined;
  private routeDeadline: Deadline | undefined;
  private perTryDeadline: Deadline | undefined;
  private wait = Wait.None;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  /** Subscribed to the caller's cancellation (its signal and/or the transport's Cancellation), as itself. */
  private subscribed = false;

  constructor(
    private readonly engine: CallEngine,
    readonly snapshot: CallSnapshot,
    readonly request: LogicalRequest,
    readonly transport: AttemptTransport<AttemptResponse>,
    readonly sink: CallSink<AttemptResponse>,
    readonly start: number,
  ) {
    // One AsyncResource per call only when an observer needs the caller's context (no SDK, no observer: none).
    this.scope = engine.observed ? new AsyncResource('meshlet.call') : undefined;
  }

  // A call has about forty fields, set on every request: what can be read from elsewhere is a getter,
  // not a field of its own (the route's and the cluster's names, the PickContext inputs, the timers).

  get routeName(): string | undefined {
    return this.route?.name;
  }

  get clusterName(): string | undefined {
    return this.picked?.name;
  }

  /** PickContext: the hosts tried so far, when the retry policy has previous_hosts. */
  get avoid(): ReadonlySet<Host> | undefined {
    return this.policy!.retry.avoidPreviousHosts ? this.tried : undefined;
  }

  /** PickContext: the priorities previous_priorities leaves out of this pick's priority load. */
  get excludedPriorities(): ReadonlySet<number> | undefined {
    return this.priorities?.excluded;
  }

  /** PickContext: host_selection_retry_max_attempts. */
  get maxSelectionAttempts(): number {
    return this.policy!.retry.maxSelectionAttempts;
  }

  /** PickContext: the engine's random source. */
  get random(): () => number {
    return this.engine.random;
  }

  private get now(): number {
    return this.engine.now();
  }

  /**
   * When the request reached the router: the call's start, or after a fault filter's delay the
   * clock now (Envoy's HTTP route timeout starts there). Saves a clock read per call.
   */
  routerStart(): number {
    return this.fault === undefined ? this.start : this.engine.now();
  }

  /** Sets the route deadline, `timeoutMs` after `start`, and arms its timer; it stays armed across attempts and backoffs until settle(). */
  setDeadline(timeoutMs: number, start: number): void {
    this.deadline = start + timeoutMs;
    this.engine.timers.arm((this.routeDeadline ??= new Deadline(this)), timeoutMs, start);
  }

  /** The engine is done with the call (response delivered or failure): disarm and unsubscribe. */
  settle(): void {
    this.over = true;
    this.wait = Wait.None;
    this.routeDeadline?.cancel();
    this.perTryDeadline?.cancel();
    if (this.sleepTimer !== undefined) {
      clearTimeout(this.sleepTimer);
      this.sleepTimer = undefined;
    }
    if (this.subscribed) {
      this.subscribed = false;
      this.request.signal?.removeEventListener('abort', this);
      this.request.cancellation?.setCancelListener(undefined);
    }
  }

  releaseRetry(): void {
    if (!this.holdingRetry) return;
    this.holdingRetry = false;
    this.breakers!.releaseRetry();
  }

  onDeadline(d: Deadline): void {
    this.finish(d === this.perTryDeadline ? Stop.PerTry : Stop.Route);
  }

  holdRequestSlot(breakers: CircuitBreaker): void {
    this.requestSlot = breakers;
  }

  record(host: Host, outcome: AttemptOutcome, started: number, ended: number): AttemptRecord {
    const rec: AttemptRecord = { host, outcome, durationMs: ended - started };
    if (this.attempts.length === 0) this.attempts = [rec];
    else this.attempts.push(rec);
    return rec;
  }

  reply(status: number, grpcStatus: number | undefined, body: string | undefined): LocalReply {
    return { status, grpcStatus, body, flags: this.flags };
  }

  fail(flag: ResponseFlagCode, status: number, detail?: string, cause?: unknown): MeshCallError {
    this.flags.unshift(flag);
    if (detail !== undefined) this.detail = detail;
    return new MeshCallError({
      target: this.snapshot.target,
      route: this.routeName,
      cluster: this.clusterName,
      flags: this.flags,
      attempts: this.attempts,
      localReply: meshFailureReply(status, this.flags),
      detail: this.detail,
      cause,
    });
  }

  timeout(): MeshCallError {
    return this.fail(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT, 504);
  }

  cancelled(): MeshCallError {
    return this.fail(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION, 499, undefined, this.callerReason());
  }

  /** Whether the caller cancelled (its signal or the transport's cancellation). */
  callerAborted(): boolean {
    return this.request.signal?.aborted === true || this.request.cancellation?.aborted === true;
  }

  callerReason(): unknown {
    const signal = this.request.signal;
    return signal?.aborted === true ? signal.reason : this.request.cancellation?.reason;
  }

  /** The last attempt got no response and was not retried. */
  failAttempt(outcome: AttemptOutcome, cause: unknown): MeshCallError {
    switch (outcome.kind) {
      case 'connect-failure':
        return this.fail(ResponseFlag.UPSTREAM_CONNECTION_FAILURE, 503, undefined, cause);
      case 'per-try-timeout':
        return this.fail(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT, 504, 'per-try timeout', cause);
      default:
        return this.fail(ResponseFlag.UPSTREAM_REMOTE_RESET, 503, undefined, cause);
    }
  }

  /** Waits ms (bounded by the route deadline and the caller's cancel), then the engine resumes the call. */
  sleep(ms: number, wait: Wait.Backoff | Wait.FaultDelay): void {
    const early = this.stopBeforeWait(this.now);
    if (early !== Stop.None) return this.engine.resume(this, wait, early);
    this.wait = wait;
    this.sleepTimer = setTimeout(onSleepTimer, ms, this);
  }

  /** @internal the sleep's timer fired. */
  sleepEnded(): void {
    this.sleepTimer = undefined;
    this.finish(Stop.None);
  }

  /**
   * Starts `attempt` (the transport's send) and waits for it to settle, the per-try timeout, the
   * route deadline or the caller's cancellation, whichever comes first; then the engine resumes
   * the call (afterAttempt). The settled value or error is left on `attempt`. On a stop, stops
   * `attempt` so the transport releases it.
   */
  race(perTryMs: number, attempt: EngineAttempt, now: number): void {
    const transport = this.transport;
    attempt.call = this;
    this.attempt = attempt;
    // A transport with `startAttempt` settles the attempt itself (possibly at once): it starts once the wait
    // is set up. One with only `send` is sent first, as before, and its Promise settles the attempt.
    const work = transport.startAttempt === undefined ? sendOf(transport, attempt) : undefined;
    const early = this.stopBeforeWait(now);
    if (early !== Stop.None) {
      this.stopAttempt(attempt, early);
      if (work === undefined) startOf(transport, attempt);
      else work.then(discardLate, ignore);
      return this.engine.resume(this, Wait.Attempt, early);
    }
    this.wait = Wait.Attempt;
    if (perTryBounds(perTryMs, this.deadline - now)) {
      this.engine.timers.arm((this.perTryDeadline ??= new Deadline(this)), perTryMs, now);
    }
    if (work === undefined) startOf(transport, attempt);
    else
      work.then(
        (v) => attempt.resolved(v),
        (e: unknown) => attempt.rejected(e),
      );
  }

  /** The raced attempt settled (EngineAttempt.resolved/rejected, while it was not done). */
  settled(): void {
    this.finish(Stop.None);
  }

  /** Route deadline passed or caller cancelled before a wait starts; subscribes to the caller's cancellation once. */
  private stopBeforeWait(now: number): Stop {
    if (this.deadline - now <= 0) return Stop.Route;
    if (this.callerAborted()) return Stop.Caller;
    if (!this.subscribed && (this.request.signal !== undefined || this.request.cancellation !== undefined)) {
      // The call itself listens (handleEvent, callerCancelled), not a closure: V8's parser pretenures a
      // function literal assigned to a property (`this.x = () => ...`), so such a closure per call is
      // born in the old generation and keeps its call's whole graph alive through every scavenge until
      // the next mark-compact. On the request path that made V8 tenure the request's allocation sites
      // and allocate every request in old space (see BENCHMARKS.md, "V8 pretenuring").
      this.subscribed = true;
      this.request.signal?.addEventListener('abort', this, { once: true });
      this.request.cancellation?.setCancelListener(this);
    }
    return Stop.None;
  }

  /**
   * Ends the current wait, if any: disarms the per-try timeout or the sleep's timer and, on a stop,
   * stops the raced attempt; then the engine resumes the call.
   */
  private finish(stop: Stop): void {
    const wait = this.wait;
    if (wait === Wait.None) return;
    this.wait = Wait.None;
    if (wait === Wait.Attempt) {
      this.perTryDeadline?.cancel();
      const attempt = this.attempt!;
      attempt.done = true;
      if (stop !== Stop.None) this.stopAttempt(attempt, stop);
    } else if (this.sleepTimer !== undefined) {
      clearTimeout(this.sleepTimer);
      this.sleepTimer = undefined;
    }
    this.engine.resume(this, wait, stop);
  }

  /** The caller's AbortSignal fired (the call is its EventListener object). */
  handleEvent(): void {
    this.finish(Stop.Caller);
  }

  /** CancelListener: the transport's Cancellation fired. */
  callerCancelled(): void {
    this.finish(Stop.Caller);
  }

  /** CancelListener: the request can no longer be replayed; a backoff ends now (the engine then fails the call). */
  requestNotReplayable(): void {
    if (this.wait === Wait.Backoff) this.finish(Stop.None);
  }

  private stopAttempt(attempt: EngineAttempt, stop: Stop): void {
    attempt.done = true;
    attempt.stop(new Error(stop === Stop.PerTry ? 'per-try timeout' : stop === Stop.Route ? 'route timeout' : 'cancelled'));
  }

  /** Releases the max_requests and max_active_faults slots the call holds (once). */
  releaseSlots(): void {
    const slot = this.requestSlot;
    this.requestSlot = undefined;
    slot?.releaseRequest();
    const fault = this.fault;
    if (fault !== undefined && !this.faultReleased) {
      this.faultReleased = true;
      fault.release();
    }
  }

  /** StreamEndListener, for a call without an observer: its response stream ended. */
  streamEnded(): void {
    this.end(undefined, undefined, undefined);
  }

  /** The call is over (failed, or its response stream completed): release its slots, then report it. Once only. */
  end(observer: CallObserver | undefined, status: number | undefined, error: unknown, grpcStatus?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.releaseSlots();
    observer?.onCallEnd?.({
      target: this.snapshot.target,
      route: this.routeName,
      cluster: this.clusterName,
      flags: this.flags,
      attempts: this.attempts,
      status,
      // Always present (undefined for HTTP): a conditional spread here would add the key after a copy,
      // which Node 20's V8 does through a slow path that costs microseconds per object.
      grpcStatus,
      durationMs: this.now - this.start,
      error,
      bytes: this.request.bytes,
    });
  }
}

/**
 * A transport that throws instead of settling: the attempt fails with what it threw (a reset, as any
 * rejection), so the call's bookkeeping (host load, pending slot) is undone like any failed attempt.
 */
function startOf(transport: AttemptTransport<AttemptResponse>, attempt: EngineAttempt): void {
  try {
    transport.startAttempt!(attempt, attempt);
  } catch (err) {
    attempt.rejected(err);
  }
}

function sendOf(transport: AttemptTransport<AttemptResponse>, attempt: EngineAttempt): Promise<AttemptResponse> {
  try {
    if (transport.send === undefined) throw new TypeError('meshlet: an AttemptTransport implements send or startAttempt');
    return transport.send(attempt);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The end of an observed call's stream: the observer runs in the caller's async context, so that
 * context-based telemetry (the OpenTelemetry call span) still finds its call. A function of its own:
 * its closure is made only for observed calls, not in respond() for every call.
 */
function observedEnd(call: Call, observer: CallObserver, status: number): (end: StreamEnd) => void {
  const scope = call.scope!;
  return (end) => scope.runInAsyncScope(() => call.end(observer, status, undefined, end.grpcStatus));
}

/** A call's sleep timer: a module function with the call as its argument, not a closure per sleep. */
function onSleepTimer(call: Call): void {
  call.sleepEnded();
}
