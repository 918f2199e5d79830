import { AsyncResource } from 'node:async_hooks';
import type { Host } from '../cluster/Host.js';
import type { AttemptResult } from '../cluster/AttemptResult.js';
import type { CompiledRoute, CompiledVirtualHost, PickedCluster } from '../routing/index.js';
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
  type LogicalRequest,
} from './AttemptTransport.js';
import type { CallObserver } from './CallObserver.js';
import type { CallCluster, CallSnapshot } from './CallSnapshot.js';
import type { Random } from './HeaderLookup.js';
import { MeshCallError, type AttemptRecord, type LocalReply } from './MeshCallError.js';
import { ResponseFlag, type ResponseFlagCode } from './ResponseFlags.js';
import { RouteCallPolicy } from './RouteCallPolicy.js';
import { Deadline, DeadlineTimers, type DeadlineOwner } from './DeadlineTimers.js';

export interface CallEngineOptions {
  /** 'grpc' applies gRFC A44 retry and A31 timeout semantics. */
  readonly kind: 'http' | 'grpc';
  readonly random?: Random;
  /** Monotonic ms clock. */
  readonly now?: () => number;
  readonly observer?: CallObserver;
}

const NOT_FOUND_STATUS = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 } as const;

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
  private readonly random: Random;
  private readonly now: () => number;
  private readonly observer: CallObserver | undefined;
  private readonly faults = new FaultConfigResolver();
  private readonly timers: DeadlineTimers;

  constructor(options: CallEngineOptions) {
    this.kind = options.kind;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? performance.now.bind(performance);
    this.observer = options.observer;
    this.timers = new DeadlineTimers(this.now);
  }

  /**
   * Runs the call and resolves with the response the transport should deliver. The call stays
   * active after that until the response stream completes (`AttemptResponse.onStreamEnd`): Envoy's
   * router holds the `max_requests` slot (and the fault filter its `max_active_faults` slot)
   * for the life of the stream, so a long server stream or a slow body counts against the
   * breaker until it ends, and `onCallEnd` reports the whole stream's duration, as Envoy's
   * access log does.
   */
  async execute<R extends AttemptResponse>(snapshot: CallSnapshot, request: LogicalRequest, transport: AttemptTransport<R>): Promise<R> {
    const call = new Call(this.now, this.timers, snapshot, request, this.now());
    let response: R;
    try {
      response = await this.run(call, transport);
    } catch (err) {
      call.settle();
      call.end(this.observer, err instanceof MeshCallError ? err.localReply.status : undefined, err);
      throw err;
    }
    call.settle();
    if (response.onStreamEnd === undefined) {
      call.end(this.observer, response.status, undefined);
    } else {
      const status = response.status;
      const observer = this.observer;
      if (observer === undefined) {
        response.onStreamEnd(() => call.end(undefined, status, undefined));
      } else {
        // The stream ends in a transport callback; run the observer in the caller's async context
        // so context-based telemetry (the OpenTelemetry call span) still finds its call. One
        // AsyncResource, not AsyncResource.bind: bind goes through a deprecation wrapper on
        // every call in Node 20 (DEP0172), which showed up at 3% of the HTTP profile.
        const scope = new AsyncResource('meshlet.call');
        response.onStreamEnd((end) => scope.runInAsyncScope(() => call.end(observer, status, undefined, end.grpcStatus)));
      }
    }
    return response;
  }

  /**
   * Routing and the filters before the router, synchronous unless a fault delays the call: not an
   * async function, so a call without a delay carries no suspended frame for it (its register file
   * was about 700 B per call). Throws synchronously; `execute` awaits the result either way.
   */
  private run<R extends AttemptResponse>(call: Call, transport: AttemptTransport<R>): R | Promise<R> {
    const { snapshot, request } = call;
    const view = request.view;
    const random = this.random;
    if (call.callerAborted()) throw call.fail(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION, 499, 'cancelled before start', call.callerReason());

    const match = snapshot.routeTable.match(view, random);
    if (match === undefined) throw call.fail(ResponseFlag.NO_ROUTE_FOUND, 404);
    const route: CompiledRoute = match.route;
    const vh: CompiledVirtualHost = match.virtualHost;
    call.routeName = route.name;

    switch (route.action) {
      // Envoy's router runs DirectResponseEntry::finalizeResponseHeaders on direct_response and redirect
      // replies: the route / vhost / route-config response_headers_to_add/remove apply to them too.
      case 'direct_response': {
        const dr = route.route.direct_response!;
        const headers = responseHeaders(route.headerMutationFor(undefined), {});
        return transport.localReply({ ...call.reply(dr.status, undefined, dr.body), ...(headers ? { headers } : {}) });
      }
      case 'redirect': {
        const r = route.redirectLocation(view);
        if (r === undefined) throw call.fail(ResponseFlag.NO_ROUTE_FOUND, 404);
        const headers = responseHeaders(route.headerMutationFor(undefined), { location: r.location }) ?? { location: r.location };
        return transport.localReply({ status: r.status, headers, flags: call.flags });
      }
      case 'non_forwarding':
        throw call.fail(ResponseFlag.NO_ROUTE_FOUND, 404, 'route has a non_forwarding_action');
      case 'route':
        break;
    }

    const ra = route.route.route!;
    const picked: PickedCluster | undefined = route.clusterPicker?.pick(random(), view.headers);
    const notFound = NOT_FOUND_STATUS[ra.cluster_not_found_response_code ?? 'SERVICE_UNAVAILABLE'];
    if (picked === undefined) throw call.fail(ResponseFlag.NO_CLUSTER_FOUND, notFound, 'no cluster for the request');
    call.clusterName = picked.name;
    const cluster = snapshot.cluster(picked.name);
    if (cluster === undefined) throw call.fail(ResponseFlag.NO_CLUSTER_FOUND, notFound);

    const policy = RouteCallPolicy.for(route, vh, this.kind, snapshot.maxStreamDuration);
    // gRPC (gRFC A33): a fault delay counts toward the call's deadline. HTTP (Envoy): the router's
    // route timeout starts when the request reaches it, i.e. after the fault filter's delay (below).
    if (policy.timeoutMs > 0 && this.kind === 'grpc') call.setDeadline(policy.timeoutMs, call.start + policy.timeoutMs);

    // Fault filter (runs after route + weighted cluster resolution, as in Envoy's filter chain).
    const injector = this.faults.resolve(
      snapshot.fault,
      snapshot.faultFilterName,
      picked.weight?.typed_per_filter_config,
      route.route.typed_per_filter_config,
      vh.virtualHost.typed_per_filter_config,
    );
    const fault = injector?.evaluate(view.headers, picked.name, random);
    call.route = route;
    call.picked = picked;
    call.cluster = cluster;
    call.policy = policy;
    if (fault !== undefined) {
      call.fault = fault;
      if (fault.delayMs > 0) return this.delayed(call, transport, fault.delayMs);
    }
    return this.afterFault(call, transport);
  }

  /** The fault filter's delay, then the rest of the call. */
  private async delayed<R extends AttemptResponse>(call: Call, transport: AttemptTransport<R>, delayMs: number): Promise<R> {
    call.flags.push(ResponseFlag.DELAY_INJECTED);
    const stop = await call.sleep(delayMs);
    if (stop === Stop.Route) throw call.timeout();
    if (stop === Stop.Caller) throw call.cancelled();
    // `return await`: an async function returning a promise adopts it through an extra thenable job.
    return await this.afterFault(call, transport);
  }

  /** The fault filter's abort (a local reply), else the router: route timeout (HTTP), max_requests, then the attempts. */
  private afterFault<R extends AttemptResponse>(call: Call, transport: AttemptTransport<R>): R | Promise<R> {
    const fault = call.fault;
    if (fault !== undefined && (fault.abortHttpStatus !== undefined || fault.abortGrpcStatus !== undefined)) {
      call.flags.push(ResponseFlag.FAULT_INJECTED);
      return transport.localReply(call.reply(fault.abortHttpStatus ?? 200, fault.abortGrpcStatus, 'fault filter abort'));
    }
    const policy = call.policy!;
    if (policy.timeoutMs > 0 && this.kind === 'http') call.setDeadline(policy.timeoutMs, this.now() + policy.timeoutMs);

    const breakers = call.cluster!.breakers;
    if (!breakers.tryAcquireRequest()) throw call.fail(ResponseFlag.UPSTREAM_OVERFLOW, 503);
    // Released when the call ends: at once on failure, else when the response stream completes.
    call.holdRequestSlot(breakers);
    // A plain return of the attempts' promise: `execute` awaits it directly (no async frame here).
    return this.attempts(call, transport);
  }

  private async attempts<R extends AttemptResponse>(call: Call, transport: AttemptTransport<R>): Promise<R> {
    const route = call.route!;
    const picked = call.picked!;
    const cluster = call.cluster!;
    const policy = call.policy!;
    const { request } = call;
    const view = request.view;
    const retry = policy.retry;
    const canRetry = retry.enabled && request.replayable && retry.appliesTo(view.headers);
    const hash = policy.hasher?.hash({ request: view, sourceIp: request.sourceIp });
    const path = route.rewritePath(view.path);
    const authority = route.rewriteHost(view.headers, picked) ?? view.authority;
    const headerMutation = route.headerMutationFor(picked);
    // previous_hosts: the hosts tried so far. The Set is made when a retry needs it, not per call.
    let tried: Set<Host> | undefined;
    let lastHost: Host | undefined;
    let holdingRetry = false;
    const breakers = cluster.breakers;

    try {
      for (let attemptNo = 1; ; attemptNo++) {
        if (retry.avoidPreviousHosts && lastHost !== undefined) (tried ??= new Set()).add(lastHost);
        const host = cluster.pick({
          hash,
          avoid: retry.avoidPreviousHosts ? tried : undefined,
          maxSelectionAttempts: retry.maxSelectionAttempts,
          random: this.random,
        });
        if (host === undefined) throw call.fail(ResponseFlag.NO_HEALTHY_UPSTREAM, 503);
        lastHost = host;

        // One clock read per attempt start (performance.now() allocates): the budget, the attempt's
        // start time and the race's checks all use it.
        const now = this.now();
        const remaining = call.deadline - now;
        const perTry = retry.perTryTimeoutMs;
        const attemptBudget = perTry > 0 && perTry < remaining ? perTry : remaining;
        const attempt = new EngineAttempt(
          host,
          picked.name,
          path,
          authority,
          headerMutation,
          attemptNo,
          policy.includeAttemptCount,
          Number.isFinite(attemptBudget) ? Math.max(0, Math.round(attemptBudget)) : undefined,
        );
        // circuit_breakers max_pending_requests: an attempt that must wait for a connection holds a
        // pending slot until it gets its response head (Envoy frees it at connection assignment, a
        // little earlier); none left = overflow at once, like max_requests.
        const pending = transport.wouldQueue?.(attempt) === true;
        if (pending && !breakers.tryAcquirePending()) {
          if (holdingRetry) {
            breakers.releaseRetry();
            holdingRetry = false;
          }
          throw call.fail(ResponseFlag.UPSTREAM_OVERFLOW, 503, 'max_pending_requests reached');
        }
        this.observer?.onAttemptStart?.(attempt);
        const started = now;
        host.activeRequests++;
        let response: R | undefined;
        let stop: Stop;
        let cause: unknown;
        try {
          stop = await call.race(transport, perTry, attempt, now);
          response = attempt.value as R | undefined;
          cause = attempt.error;
        } finally {
          host.activeRequests--;
          if (pending) breakers.releasePending();
          if (holdingRetry) {
            breakers.releaseRetry();
            holdingRetry = false;
          }
        }
        // The attempt's outcome is settled outside this async function: its suspended frame keeps
        // every register the function uses, so the less code here, the less each call allocates.
        const next = this.conclude(call, cluster, host, attempt, stop, response, cause, started, canRetry, attemptNo);
        if (next !== RETRY) return next;
        holdingRetry = true;
        const slept = await call.sleep(retry.backoffMs(attemptNo, this.random));
        if (slept === Stop.None) continue;
        if (slept === Stop.Caller) throw call.cancelled();
        throw call.timeout();
      }
    } finally {
      if (holdingRetry) breakers.releaseRetry();
    }
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
      call.record(host, { kind: 'reset' }, started, this.now());
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
    const record = call.record(host, outcome, started, this.now());
    cluster.reportResult(host, attemptResult(outcome));

    const retry = call.policy!.retry;
    const reason: RetryReason | undefined = canRetry ? retry.classify(outcome) : undefined;
    this.observer?.onAttemptEnd?.(attempt, record, reason);
    if (reason !== undefined) {
      if (attemptNo > retry.maxRetries) {
        call.flags.push(ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED);
      } else if (cluster.breakers.tryAcquireRetry()) {
        // Release the retried response's body now, not after the backoff.
        response?.discard();
        return RETRY;
      } else {
        // max_retries / retry_budget overflow: the current outcome stands (Envoy upstream_rq_retry_overflow),
        // and Envoy's router flags the stream UO on RetryStatus::NoOverflow (a reset's local reply reads "UF,UO").
        call.flags.push(ResponseFlag.UPSTREAM_OVERFLOW);
        call.detail = 'retry circuit breaker open';
      }
    }
    if (response !== undefined) return response;
    if (!canRetry && !call.request.replayable && retry.enabled && retry.classify(outcome) !== undefined) {
      call.detail = 'not retried: request body is not replayable';
    }
    throw call.failAttempt(outcome, cause);
  }
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
const LOCAL_FAILURE: AttemptResult = { kind: 'local-origin-failure' };
const CONNECT_FAILURE: AttemptOutcome = { kind: 'connect-failure' };
const REFUSED: AttemptOutcome = { kind: 'refused-stream' };
const RESET: AttemptOutcome = { kind: 'reset' };
const RESET_BEFORE: AttemptOutcome = { kind: 'reset', requestStarted: false };

/** A response that arrived after its attempt was stopped: release its body. */
function discardLate(v: unknown): void {
  (v as Partial<AttemptResponse> | undefined)?.discard?.();
}

function ignore(): void {}

function outcomeOf(err: unknown): AttemptOutcome {
  if (err instanceof AttemptError) {
    if (err.kind === 'connect-failure') return CONNECT_FAILURE;
    if (err.kind === 'refused-stream') return REFUSED;
    return err.requestStarted ? RESET : RESET_BEFORE;
  }
  return RESET;
}

function attemptResult(outcome: AttemptOutcome): AttemptResult {
  if (outcome.kind !== 'response') return LOCAL_FAILURE;
  if (outcome.grpcStatus !== undefined) return { kind: 'grpc', code: outcome.grpcStatus };
  return { kind: 'http', status: outcome.status };
}

/**
 * One attempt's request. Its AbortSignal is created only when a transport reads `signal`: one that
 * uses `onStop` instead (the HTTP transport) costs no AbortController/AbortSignal per attempt.
 */
class EngineAttempt implements AttemptRequest, AttemptSettler<unknown> {
  /** What the transport's send settled with (read by the engine after the race). */
  value: unknown = undefined;
  error: unknown = undefined;
  /** The race is over: the send settled, or the attempt was stopped first. */
  done = false;
  /** The call whose wait (Call.race) this attempt's settling ends; set when the race starts. */
  call: Call | undefined;
  private controller: AbortController | undefined;
  private stopReason: Error | undefined;
  private listener: AttemptStopListener | undefined;

  constructor(
    readonly host: Host,
    readonly cluster: string,
    readonly path: string,
    readonly authority: string,
    readonly headerMutation: HeaderMutation,
    readonly attemptCount: number,
    readonly includeAttemptCount: boolean,
    readonly expectedTimeoutMs: number | undefined,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopReason !== undefined) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  onStop(listener: AttemptStopListener): void {
    if (this.stopReason !== undefined) {
      tellStop(listener, this.stopReason);
      return;
    }
    const prev = this.listener;
    this.listener = prev === undefined ? listener : (reason) => (tellStop(prev, reason), tellStop(listener, reason));
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

  /** Once: aborts the signal (if one was created), then tells the onStop listener. */
  stop(reason: Error): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.controller?.abort(reason);
    const listener = this.listener;
    this.listener = undefined;
    if (listener !== undefined) tellStop(listener, reason);
  }
}

function tellStop(listener: AttemptStopListener, reason: Error): void {
  if (typeof listener === 'function') listener(reason);
  else listener.attemptStopped(reason);
}

/**
 * Per-call state, one object per call: the route deadline and the per-try timeout are two
 * reusable Deadlines on the engine's shared timers, and the caller's cancellation is subscribed
 * once per call, not once per attempt.
 */
class Call implements DeadlineOwner {
  routeName: string | undefined;
  clusterName: string | undefined;
  fault: FaultDecision | undefined;
  /** What routing chose, once routed (the fault step, the router and the attempts read them). */
  route: CompiledRoute | undefined;
  picked: PickedCluster | undefined;
  cluster: CallCluster | undefined;
  policy: RouteCallPolicy | undefined;
  /** The breakers whose max_requests slot this call holds, until end(). */
  private requestSlot: CallCluster['breakers'] | undefined;
  private ended = false;
  deadline = Number.POSITIVE_INFINITY;
  readonly flags: ResponseFlagCode[] = [];
  readonly attempts: AttemptRecord[] = [];
  detail: string | undefined;
  private routeDeadline: Deadline | undefined;
  private perTryDeadline: Deadline | undefined;
  /** Resolves the current wait (an attempt's race or a sleep); undefined when nothing waits. */
  private waiter: ((stop: Stop) => void) | undefined;
  /** The attempt the current wait races, stopped if the wait ends early. */
  private racing: EngineAttempt | undefined;
  private onCaller: (() => void) | undefined;

  constructor(
    private readonly now: () => number,
    private readonly timers: DeadlineTimers,
    readonly snapshot: CallSnapshot,
    readonly request: LogicalRequest,
    readonly start: number,
  ) {}

  /** Sets the route deadline and arms its timer; it stays armed across attempts and backoffs until settle(). */
  setDeadline(timeoutMs: number, at: number): void {
    this.deadline = at;
    this.timers.arm((this.routeDeadline ??= new Deadline(this)), timeoutMs, at);
  }

  /** The engine is done with the call (response returned or failure thrown): disarm and unsubscribe. */
  settle(): void {
    this.routeDeadline?.cancel();
    this.perTryDeadline?.cancel();
    if (this.onCaller !== undefined) {
      this.request.signal?.removeEventListener('abort', this.onCaller);
      this.request.cancellation?.setCancelListener(undefined);
      this.onCaller = undefined;
    }
  }

  onDeadline(d: Deadline): void {
    this.finish(d === this.perTryDeadline ? Stop.PerTry : Stop.Route);
  }

  holdRequestSlot(breakers: CallCluster['breakers']): void {
    this.requestSlot = breakers;
  }

  record(host: Host, outcome: AttemptOutcome, started: number, ended: number): AttemptRecord {
    const rec: AttemptRecord = { host, outcome, durationMs: ended - started };
    this.attempts.push(rec);
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
      localReply: { status, body: `meshlet: ${flag}`, flags: this.flags },
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

  /** Waits ms (bounded by the route deadline); reports what ended the wait. */
  async sleep(ms: number): Promise<Stop> {
    const early = this.stopBeforeWait(this.now());
    if (early !== Stop.None) return early;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = await new Promise<Stop>((resolve) => {
      this.waiter = resolve;
      timer = setTimeout(() => this.finish(Stop.None), ms);
    });
    clearTimeout(timer);
    return stop;
  }

  /**
   * Waits for `work` (the attempt's send), the per-try timeout, the route deadline or the
   * caller's cancellation, whichever comes first. The settled value or error is left on
   * `attempt`. On a stop, stops `attempt` so the transport releases it.
   */
  race(transport: AttemptTransport<AttemptResponse>, perTryMs: number, attempt: EngineAttempt, now: number): Promise<Stop> {
    attempt.call = this;
    // A transport with `startAttempt` settles the attempt itself (possibly at once): it starts once the wait
    // is set up. One with only `send` is sent first, as before, and its Promise settles the attempt.
    const work = transport.startAttempt === undefined ? transport.send(attempt) : undefined;
    const early = this.stopBeforeWait(now);
    if (early !== Stop.None) {
      this.stopAttempt(attempt, early);
      if (work === undefined) transport.startAttempt!(attempt, attempt);
      else work.then(discardLate, ignore);
      return Promise.resolve(early);
    }
    return new Promise<Stop>((resolve) => {
      this.waiter = resolve;
      this.racing = attempt;
      if (perTryMs > 0 && perTryMs < this.deadline - now) {
        this.timers.arm((this.perTryDeadline ??= new Deadline(this)), perTryMs, now + perTryMs);
      }
      if (work === undefined) transport.startAttempt!(attempt, attempt);
      else
        work.then(
          (v) => attempt.resolved(v),
          (e: unknown) => attempt.rejected(e),
        );
    });
  }

  /** The raced attempt settled (EngineAttempt.resolved/rejected, while it was not done). */
  settled(): void {
    this.finish(Stop.None);
  }

  /** Route deadline passed or caller cancelled before a wait starts; subscribes to the caller's cancellation once. */
  private stopBeforeWait(now: number): Stop {
    if (this.deadline - now <= 0) return Stop.Route;
    if (this.callerAborted()) return Stop.Caller;
    if (this.onCaller === undefined && (this.request.signal !== undefined || this.request.cancellation !== undefined)) {
      this.onCaller = () => this.finish(Stop.Caller);
      this.request.signal?.addEventListener('abort', this.onCaller, { once: true });
      this.request.cancellation?.setCancelListener(this.onCaller);
    }
    return Stop.None;
  }

  /** Ends the current wait, if any: disarms the per-try timeout and, on a stop, stops the raced attempt. */
  private finish(stop: Stop): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    this.perTryDeadline?.cancel();
    const attempt = this.racing;
    this.racing = undefined;
    if (attempt !== undefined) {
      attempt.done = true;
      if (stop !== Stop.None) this.stopAttempt(attempt, stop);
    }
    waiter(stop);
  }

  private stopAttempt(attempt: EngineAttempt, stop: Stop): void {
    attempt.done = true;
    attempt.stop(new Error(stop === Stop.PerTry ? 'per-try timeout' : stop === Stop.Route ? 'route timeout' : 'cancelled'));
  }

  /** The call is over (failed, or its response stream completed): release its slots, then report it. Once only. */
  end(observer: CallObserver | undefined, status: number | undefined, error: unknown, grpcStatus?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.requestSlot?.releaseRequest();
    this.fault?.release();
    observer?.onCallEnd?.({
      target: this.snapshot.target,
      route: this.routeName,
      cluster: this.clusterName,
      flags: this.flags,
      attempts: this.attempts,
      status,
      ...(grpcStatus !== undefined ? { grpcStatus } : {}),
      durationMs: this.now() - this.start,
      error,
      bytes: this.request.bytes,
    });
  }
}
