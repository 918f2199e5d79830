import type { Host } from './Host.js';
import type { HostPicker } from './HostPicker.js';
import type { PickContext } from './PickContext.js';

/** RANDOM: uniform over the hosts. Like Envoy's random LB, endpoint weights are ignored. */
export class RandomPicker implements HostPicker {
  readonly #hosts: readonly Host[];

  constructor(hosts: readonly Host[]) {
    this.#hosts = hosts;
  }

  pick(ctx: PickContext, _attempt: number): Host | undefined {
    const n = this.#hosts.length;
    return n === 0 ? undefined : this.#hosts[Math.floor(ctx.random() * n)];
  }
}
