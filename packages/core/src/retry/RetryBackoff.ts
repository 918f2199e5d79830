import type { Random } from '../call/HeaderLookup.js';

/** Envoy's default retry_back_off.base_interval (ms). */
export const DEFAULT_BACKOFF_BASE_MS = 25;

/**
 * Envoy's fully jittered exponential backoff (JitteredExponentialBackOffStrategy as used
 * by the router's RetryStateImpl): retry N waits a uniform integer in
 * [0, base * 2^(N-1)), the interval doubling while below max / 2 and then held at max
 * (default 10 x base). Unlike the strategy object, this is stateless (the retry number
 * comes from the call), so one instance per compiled policy serves every concurrent call.
 * gRPC (gRFC A44 -> A6) maps base_interval/max_interval to initial/max backoff with
 * multiplier 2 and caps with min(initial * 2^(N-1), max): the same but for the one case
 * Envoy's doubling limit treats differently (see ceilingMs), so the rule is a parameter.
 */
export class RetryBackoff {
  static readonly DEFAULT = new RetryBackoff(DEFAULT_BACKOFF_BASE_MS);

  readonly baseMs: number;
  readonly maxMs: number;
  readonly #doublingLimit: number;

  /** @param rule 'grpc': gRFC A6's min(base * 2^(N-1), max) instead of Envoy's doubling limit. */
  constructor(baseMs: number, maxMs?: number, rule: 'envoy' | 'grpc' = 'envoy') {
    // base_interval must be > 0 (proto validation); clamp defensively to 1 ms.
    this.baseMs = Math.max(1, Math.floor(baseMs));
    this.maxMs = Math.max(this.baseMs, Math.floor(maxMs ?? this.baseMs * 10));
    this.#doublingLimit = rule === 'grpc' ? this.maxMs : Math.floor(this.maxMs / 2);
  }

  /** The exclusive upper bound of the wait before retry `retryNumber` (1-based). */
  ceilingMs(retryNumber: number): number {
    if (retryNumber <= 1) return this.baseMs;
    // Envoy's next interval doubles only while the current one is below floor(max / 2)
    // (JitteredExponentialBackOffStrategy's doubling_limit_) and otherwise becomes max: with
    // base 25 and max 51 the second interval is 51, not 50. So the previous interval decides;
    // 2^(N-2) is capped so it cannot overflow (past the limit the doubling stops anyway).
    const previous = this.baseMs * 2 ** Math.min(retryNumber - 2, 52);
    if (previous >= this.#doublingLimit) return this.maxMs;
    // Below Envoy's limit 2 x previous is always under max; under gRPC's it may pass it.
    const next = previous * 2;
    return next > this.maxMs ? this.maxMs : next;
  }

  /** The wait (ms) before retry `retryNumber` (1 = first retry). */
  delayMs(retryNumber: number, random: Random): number {
    return Math.floor(random() * this.ceilingMs(retryNumber));
  }
}
