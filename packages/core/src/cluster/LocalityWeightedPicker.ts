import { EdfScheduler } from './EdfScheduler.js';
import type { Host } from './Host.js';
import type { HostPicker } from './HostPicker.js';
import type { PickContext } from './PickContext.js';

export interface WeightedLocality {
  /** Effective weight: load_balancing_weight × min(1, overprovisioning_factor% × healthy/total). */
  readonly weight: number;
  /** The policy's picker over this locality's usable hosts. */
  readonly picker: HostPicker;
}

/**
 * locality_weighted_lb: first a locality by EDF on its effective weight (so an
 * unhealthy locality sheds load to the others), then a host inside it with the
 * cluster's LB policy. With no locality carrying weight, falls back to the
 * priority-wide picker, as Envoy does when no locality can be chosen.
 */
export class LocalityWeightedPicker implements HostPicker {
  readonly #edf: EdfScheduler<WeightedLocality>;
  readonly #fallback: HostPicker;

  constructor(localities: readonly WeightedLocality[], fallback: HostPicker) {
    this.#edf = new EdfScheduler(localities, (l) => l.weight);
    this.#fallback = fallback;
  }

  pick(ctx: PickContext, attempt: number): Host | undefined {
    const locality = this.#edf.pick();
    return locality?.picker.pick(ctx, attempt) ?? this.#fallback.pick(ctx, attempt);
  }
}
