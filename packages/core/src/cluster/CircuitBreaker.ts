import type { Thresholds } from '@meshlet/xds-client';

/** Overflow counters, named after Envoy's cluster stats. */
export interface CircuitBreakerStats {
  /** max_connections reached (upstream_cx_overflow). */
  cx_overflow: number;
  /** max_pending_requests reached (upstream_rq_pending_overflow). */
  rq_pending_overflow: number;
  /** max_requests reached (upstream_rq_pending_overflow in Envoy's HTTP/2 pool; kept separate here). */
  rq_overflow: number;
  /** max_retries or retry budget reached (upstream_rq_retry_overflow). */
  rq_retry_overflow: number;
}

/**
 * One priority's circuit-breaker thresholds (envoy.config.cluster.v3.CircuitBreakers.Thresholds).
 * Envoy's breakers are concurrency limits, not failure-rate trips: each
 * `tryAcquire*` takes a slot if one is free and otherwise fails fast, counting
 * an overflow (the engine maps that to 503 with response flag UO). Every
 * successful acquire must be paired with its release.
 *
 * `configure` swaps the limits on a CDS push while keeping the in-flight counts.
 */
export class CircuitBreaker {
  readonly stats: CircuitBreakerStats = { cx_overflow: 0, rq_pending_overflow: 0, rq_overflow: 0, rq_retry_overflow: 0 };

  #maxConnections = 1024;
  #maxPending = 1024;
  #maxRequests = 1024;
  #maxRetries = 3;
  #budget: { readonly percent: number; readonly minConcurrency: number } | undefined;

  #connections = 0;
  #pending = 0;
  #requests = 0;
  #retries = 0;

  constructor(thresholds?: Thresholds) {
    this.configure(thresholds);
  }

  /** Applies new limits (Envoy defaults 1024 / 1024 / 1024 / 3 for unset fields). */
  configure(thresholds: Thresholds | undefined): void {
    this.#maxConnections = thresholds?.max_connections ?? 1024;
    this.#maxPending = thresholds?.max_pending_requests ?? 1024;
    this.#maxRequests = thresholds?.max_requests ?? 1024;
    this.#maxRetries = thresholds?.max_retries ?? 3;
    const budget = thresholds?.retry_budget;
    // retry_budget, when present, replaces max_retries (cluster.proto); its fields default to 20% / 3.
    this.#budget = budget ? { percent: budget.budget_percent ?? 20, minConcurrency: budget.min_retry_concurrency ?? 3 } : undefined;
  }

  get activeConnections(): number {
    return this.#connections;
  }
  get pendingRequests(): number {
    return this.#pending;
  }
  get activeRequests(): number {
    return this.#requests;
  }
  get activeRetries(): number {
    return this.#retries;
  }

  tryAcquireRequest(): boolean {
    if (this.#requests >= this.#maxRequests) {
      this.stats.rq_overflow++;
      return false;
    }
    this.#requests++;
    return true;
  }
  releaseRequest(): void {
    if (this.#requests > 0) this.#requests--;
  }

  tryAcquirePending(): boolean {
    if (this.#pending >= this.#maxPending) {
      this.stats.rq_pending_overflow++;
      return false;
    }
    this.#pending++;
    return true;
  }
  releasePending(): void {
    if (this.#pending > 0) this.#pending--;
  }

  /**
   * @param activeRequests outstanding requests (active + pending) the retry budget is a
   *   share of; defaults to this breaker's own active + pending counts. Ignored under max_retries.
   */
  tryAcquireRetry(activeRequests: number = this.#requests + this.#pending): boolean {
    if (this.#retries >= this.maxRetries(activeRequests)) {
      this.stats.rq_retry_overflow++;
      return false;
    }
    this.#retries++;
    return true;
  }
  releaseRetry(): void {
    if (this.#retries > 0) this.#retries--;
  }

  /**
   * The retry concurrency currently allowed: max_retries, or max(min_retry_concurrency,
   * budget_percent% of outstanding) with the share truncated to a whole number, as Envoy's
   * RetryBudgetImpl::max() converts it to uint64 (20% of 17 outstanding allows 3, not 3.4).
   */
  maxRetries(activeRequests: number = this.#requests + this.#pending): number {
    if (!this.#budget) return this.#maxRetries;
    return Math.max(this.#budget.minConcurrency, Math.floor((this.#budget.percent / 100) * activeRequests));
  }

  tryAcquireConnection(): boolean {
    if (this.#connections >= this.#maxConnections) {
      this.stats.cx_overflow++;
      return false;
    }
    this.#connections++;
    return true;
  }
  releaseConnection(): void {
    if (this.#connections > 0) this.#connections--;
  }
}
