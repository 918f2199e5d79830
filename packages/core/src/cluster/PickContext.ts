import type { Host } from './Host.js';

/** Per-attempt input to {@link ClusterRuntime.pick}. Callers may reuse one object across picks. */
export interface PickContext {
  /** Request hash from the route's hash_policy (RING_HASH / MAGLEV); a random one is used when absent. */
  readonly hash?: bigint;
  /** retry_host_predicate previous_hosts: hosts to avoid if another choice exists. */
  readonly avoid?: ReadonlySet<Host>;
  /**
   * RetryPolicy.host_selection_retry_max_attempts: how many times selection is
   * *re*-attempted when the picked host is in `avoid` (Envoy default 1, so at most
   * two picks); after that the last picked host is used anyway.
   */
  readonly maxSelectionAttempts?: number;
  /**
   * retry_priority previous_priorities: priorities left out of the priority load for this pick (their
   * share goes to the others), unless that leaves no healthy host at all.
   */
  readonly excludedPriorities?: ReadonlySet<number>;
  /** Uniform [0, 1) source; seeded in tests. */
  readonly random: () => number;
}
