import type { Random } from '../call/HeaderLookup.js';

/** Envoy's default retry_back_off.base_interval (ms). */
export const DEFAULT_BACKOFF_BASE_MS = 25;

/**
 * Envoy's fully jittered exponential backoff (JitteredExponentialBackOffStrategy as used
 * by the router's RetryStateImpl): retry N waits a uniform integer in
 * [0, min(base * 2^(N-1), max)), where max defaults to 10 x base. Unlike the strategy
 * object, this is stateless (the retry number comes from the call), so one instance
 * per compiled policy serves every concurrent call.
 * gRPC (gRFC A44) maps base_interval/max_interval to initial/max backoff with
 * multiplier 2, which is the same distribution.
 */
export class RetryBackoff {
  static readonly DEFAULT = new RetryBackoff(DEFAULT_BACKOFF_BASE_MS);

  readonly baseMs: number;
  readonly maxMs: number;

  constructor(baseMs: number, maxMs?: number) {
    // base_interval must be > 0 (proto validation); clamp defensively to 1 ms.
    this.baseMs = Math.max(1, Math.floor(baseMs));
    this.maxMs = Math.max(this.baseMs, Math.floor(maxMs ?? this.baseMs * 10));
  }

  /** The exclusive upper bound of the wait before retry `retryNumber` (1-based). */
  ceilingMs(retryNumber: number): number {
    // 2^(N-1) computed without overflowing: once past max the doubling stops.
    const doublings = Math.min(Math.max(0, retryNumber - 1), 52);
    const ceiling = this.baseMs * 2 ** doublings;
    return ceiling > this.maxMs ? this.maxMs : ceiling;
  }

  /** The wait (ms) before retry `retryNumber` (1 = first retry). */
  delayMs(retryNumber: number, random: Random): number {
    return Math.floor(random() * this.ceilingMs(retryNumber));
  }
}
