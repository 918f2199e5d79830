import type { Host } from './Host.js';
import type { HostPicker } from './HostPicker.js';
import type { PickContext } from './PickContext.js';

/**
 * PICK_FIRST: always the first host of the list (EDS order, optionally shuffled
 * once per endpoint update when shuffle_address_list is set). On re-selection
 * (`attempt` > 0) it moves to the next address, as pick_first would after a failed connect.
 */
export class PickFirstPicker implements HostPicker {
  readonly #hosts: readonly Host[];

  constructor(hosts: readonly Host[], random: () => number, shuffle = false) {
    if (!shuffle) {
      this.#hosts = hosts;
      return;
    }
    const copy = hosts.slice();
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    this.#hosts = copy;
  }

  pick(_ctx: PickContext, attempt: number): Host | undefined {
    const n = this.#hosts.length;
    return n === 0 ? undefined : this.#hosts[attempt % n];
  }
}
