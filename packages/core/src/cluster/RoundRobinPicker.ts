import { EdfScheduler } from './EdfScheduler.js';
import type { Host } from './Host.js';
import type { HostPicker } from './HostPicker.js';
import type { PickContext } from './PickContext.js';

/**
 * ROUND_ROBIN. Equal weights: a plain rotation, starting at a random offset so
 * that many clients do not all hit the first host together. Unequal weights:
 * EDF scheduling on load_balancing_weight, as Envoy's weighted round robin.
 */
export class RoundRobinPicker implements HostPicker {
  readonly #hosts: readonly Host[];
  readonly #edf: EdfScheduler<Host> | undefined;
  #next: number;

  constructor(hosts: readonly Host[], random: () => number) {
    this.#hosts = hosts;
    this.#next = Math.floor(random() * Math.max(1, hosts.length));
    const weighted = hosts.some((h) => h.weight !== hosts[0]!.weight);
    this.#edf = weighted ? new EdfScheduler(hosts, (h) => h.weight) : undefined;
  }

  pick(_ctx: PickContext, _attempt: number): Host | undefined {
    if (this.#edf) return this.#edf.pick();
    const n = this.#hosts.length;
    if (n === 0) return undefined;
    const host = this.#hosts[this.#next % n];
    this.#next = (this.#next + 1) % n;
    return host;
  }
}
