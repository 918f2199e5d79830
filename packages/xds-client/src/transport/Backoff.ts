/**
 * Reconnect backoff as specified by gRPC's connection-backoff.md (which gRFC A27
 * applies to the ADS stream): each delay is the previous one times `multiplier`,
 * capped at `maxMs`, and randomised by +-`jitter`.
 */
export interface BackoffOptions {
  /** INITIAL_BACKOFF, default 1000 ms. */
  readonly initialMs?: number;
  /** MULTIPLIER, default 1.6. */
  readonly multiplier?: number;
  /** JITTER, default 0.2 (a delay lands in [d * 0.8, d * 1.2]). */
  readonly jitter?: number;
  /** MAX_BACKOFF, default 120000 ms. */
  readonly maxMs?: number;
  /** Source of randomness in [0, 1), injectable for deterministic tests. */
  readonly random?: () => number;
}

export class ExponentialBackoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private current: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.multiplier = options.multiplier ?? 1.6;
    this.jitter = options.jitter ?? 0.2;
    this.maxMs = options.maxMs ?? 120_000;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs >= 0) || !(this.maxMs >= 0)) throw new RangeError('backoff delays must be non-negative');
    if (!(this.multiplier >= 1)) throw new RangeError('backoff multiplier must be >= 1');
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new RangeError('backoff jitter must be within [0, 1]');
    this.current = Math.min(this.initialMs, this.maxMs);
  }

  /** The delay before the next attempt; advances the sequence. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.current * this.multiplier, this.maxMs);
    // Uniform in [base * (1 - jitter), base * (1 + jitter)].
    const delay = base * (1 + this.jitter * (2 * this.random() - 1));
    return Math.max(0, Math.round(delay));
  }

  /** Back to the initial delay, after a stream proved healthy (received a response). */
  reset(): void {
    this.current = Math.min(this.initialMs, this.maxMs);
  }
}
