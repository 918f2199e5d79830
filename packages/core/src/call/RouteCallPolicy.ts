import type { CompiledRoute, CompiledVirtualHost } from '../routing/index.js';
import { CompiledRetryPolicy } from '../retry/CompiledRetryPolicy.js';
import { RequestHasher } from './RequestHasher.js';

/** A call's timers: the per-try timeout and the route timeout (route deadline). */
export type CallTimer = 'per-try' | 'route';

/** Envoy's route timeout when RouteAction.timeout is absent. */
const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

/**
 * The per-route parts of a call compiled once per push and cached by route identity
 * (CompiledRoute objects are rebuilt on every push, so the WeakMap never serves stale config).
 */
export class RouteCallPolicy {
  /**
   * The call's first attempt can run as a DirectCall (decided here, once per push, not per call): the route
   * has no hash policy. With no retry policy in effect that attempt is the call's only one; with one, a first
   * attempt whose outcome the policy retries is handed to the engine's full path (CallEngine.continueCall),
   * as is one its timer stops (firstAttemptTimer).
   */
  readonly directFirstAttempt: boolean;
  /**
   * The timer that bounds the first attempt, as the full path arms it when the call reaches the router: the
   * per-try timeout when it is shorter than the route timeout, else the route timeout, else none. A DirectCall
   * arms only this one: the route deadline matters only after a per-try timeout, which hands the call over.
   */
  readonly firstAttemptTimer: CallTimer | undefined;
  /** The first attempt's x-envoy-expected-rq-timeout-ms (its timer's duration), undefined when unbounded. */
  readonly firstAttemptTimeoutMs: number | undefined;

  private constructor(
    readonly retry: CompiledRetryPolicy,
    readonly hasher: RequestHasher | undefined,
    /** Overall time for all attempts and backoffs, ms; 0 = none. */
    readonly timeoutMs: number,
    readonly includeAttemptCount: boolean,
  ) {
    this.directFirstAttempt = hasher === undefined;
    // As CallEngine.nextAttempt works out the first attempt's budget (the call's deadline is timeoutMs away then).
    const perTry = retry.perTryTimeoutMs;
    if (perTry > 0 && (timeoutMs === 0 || perTry < timeoutMs)) {
      this.firstAttemptTimer = 'per-try';
      this.firstAttemptTimeoutMs = Math.max(0, Math.round(perTry));
    } else if (timeoutMs > 0) {
      this.firstAttemptTimer = 'route';
      this.firstAttemptTimeoutMs = Math.max(0, Math.round(timeoutMs));
    } else {
      this.firstAttemptTimer = undefined;
      this.firstAttemptTimeoutMs = undefined;
    }
  }

  private static readonly cache = { http: new WeakMap<CompiledRoute, RouteCallPolicy>(), grpc: new WeakMap<CompiledRoute, RouteCallPolicy>() };

  static for(route: CompiledRoute, vh: CompiledVirtualHost, kind: 'http' | 'grpc', hcmMaxStreamDuration: number | undefined): RouteCallPolicy {
    const cache = RouteCallPolicy.cache[kind];
    let p = cache.get(route);
    if (p === undefined) {
      const ra = route.route.route;
      // A route's retry_policy replaces the virtual host's (Envoy does not merge them).
      const retry = CompiledRetryPolicy.from(ra?.retry_policy ?? vh.virtualHost.retry_policy, kind);
      let timeoutMs: number;
      if (kind === 'grpc') {
        // gRFC A31: gRPC ignores RouteAction.timeout; max_stream_duration bounds the call
        // (the application deadline is enforced by grpc-js itself).
        const msd = ra?.max_stream_duration;
        timeoutMs = msd?.grpc_timeout_header_max ?? msd?.max_stream_duration ?? hcmMaxStreamDuration ?? 0;
      } else {
        timeoutMs = ra?.timeout ?? DEFAULT_ROUTE_TIMEOUT_MS;
      }
      p = new RouteCallPolicy(retry, RequestHasher.compile(ra?.hash_policy ?? []), timeoutMs, vh.virtualHost.include_request_attempt_count === true);
      cache.set(route, p);
    }
    return p;
  }
}
