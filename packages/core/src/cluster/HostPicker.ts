import type { Host } from './Host.js';
import type { PickContext } from './PickContext.js';

/**
 * A load-balancing policy compiled over one fixed list of hosts (one priority's
 * healthy, degraded or panic set, or one locality). Built once per host-set
 * change; `pick` is the hot path.
 */
export interface HostPicker {
  /**
   * @param attempt 0 for the first selection, n for the n-th re-selection caused by
   *   `PickContext.avoid`; hash-based pickers use it to move off the hashed host.
   */
  pick(ctx: PickContext, attempt: number): Host | undefined;
}

export type HostPickerFactory = (hosts: readonly Host[], random: () => number) => HostPicker;
