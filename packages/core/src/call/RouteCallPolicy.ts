import type { CompiledRoute, CompiledVirtualHost } from '../routing/index.js';
import { CompiledRetryPolicy } from '../retry/CompiledRetryPolicy.js';
import { RequestHasher } from './RequestHasher.js';

/** A call's timers: the per-try timeout and the route timeout (route deadline). */
export type CallTimer = 'per-try' | 'route';

/**
 * Envoy's router bounds an attempt by its per-try timeout when one is set and it is shorter than what is left
 * of the route timeout (`remainingMs`, Infinity when there is none); else by the route timeout alone.
 */
export function perTryBounds(perTryMs: number, remainingMs: number): boolean {
  return perTryMs > 0 && perTryMs < remainingMs;
}

/** An attempt's time budget (see perTryBounds): Infinity when unbounded. */
export function attemptBudgetMs(perTryMs: number, remainingMs: number): number {
  return perTryBounds(perTryMs, remainingMs) ? perTryMs : remainingMs;
}

/** An attempt's x-envoy-expected-rq-timeout-ms for its budget: whole ms, none when unbounded. */
export function expectedTimeoutMs(budgetMs: number): number | undefined {
  return Number.isFinite(budgetMs) ? Math.max(0, Math.round(budgetMs)) : undefined;
}

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
    /** The route it is compiled for (one policy per route and call kind): a call that keeps its policy need not keep its route. */
    readonly route: CompiledRoute,
    readonly retry: CompiledRetryPolicy,
    readonly hasher: RequestHasher | undefined,
    /** Overall time for all attempts and backoffs, ms; 0 = none. */
    readonly timeoutMs: number,
    readonly includeAttemptCount: boolean,
  ) {
    this.directFirstAttempt = hasher === undefined;
    // The first attempt's budget, as CallEngine.nextAttempt works it out (the call's deadline is timeoutMs away then).
    const remaining = timeoutMs > 0 ? timeoutMs : Number.POSITIVE_INFINITY;
    const budget = attemptBudgetMs(retry.perTryTimeoutMs, remaining);
    this.firstAttemptTimeoutMs = expectedTimeoutMs(budget);
    this.firstAttemptTimer = !Number.isFinite(budget) ? undefined : budget === remaining ? 'route' : 'per-try';
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
      p = new RouteCallPolicy(route, retry, RequestHasher.compile(ra?.hash_policy ?? []), timeoutMs, vh.virtualHost.include_request_attempt_count === true);
      cache.set(route, p);
    }
    return p;
  }
}
