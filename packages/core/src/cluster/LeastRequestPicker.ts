import { EdfScheduler } from './EdfScheduler.js';
import type { Host } from './Host.js';
import type { HostPicker } from './HostPicker.js';
import type { PickContext } from './PickContext.js';

/**
 * LEAST_REQUEST, as Envoy does it:
 * - all weights equal: "power of N choices": draw `choice_count` (default 2) hosts
 *   uniformly at random (with replacement) and take the one with the fewest
 *   active requests; the first drawn wins ties.
 * - weights differ: EDF over effective weight `weight / (activeRequests + 1)`
 *   (active_request_bias 1.0), re-evaluated each time a host is rescheduled.
 */
export class LeastRequestPicker implements HostPicker {
  readonly #hosts: readonly Host[];
  readonly #choiceCount: number;
  readonly #edf: EdfScheduler<Host> | undefined;

  constructor(hosts: readonly Host[], choiceCount = 2) {
    this.#hosts = hosts;
    this.#choiceCount = Math.max(1, choiceCount);
    const weighted = hosts.some((h) => h.weight !== hosts[0]!.weight);
    this.#edf = weighted ? new EdfScheduler(hosts, (h) => h.weight / (h.activeRequests + 1)) : undefined;
  }

  pick(ctx: PickContext, _attempt: number): Host | undefined {
    if (this.#edf) return this.#edf.pick();
    const hosts = this.#hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    let best = hosts[Math.floor(ctx.random() * n)]!;
    for (let i = 1; i < this.#choiceCount; i++) {
      const candidate = hosts[Math.floor(ctx.random() * n)]!;
      if (candidate.activeRequests < best.activeRequests) best = candidate;
    }
    return best;
  }
}
