import { randomHash, xxHash64 } from './Hashing.js';
import type { Host } from './Host.js';
import type { HostPicker } from './HostPicker.js';
import type { PickContext } from './PickContext.js';

export interface RingHashOptions {
  /** RingHashLbConfig.minimum_ring_size, default 1024. */
  readonly minimum_ring_size?: number;
  /** RingHashLbConfig.maximum_ring_size, default 8M. */
  readonly maximum_ring_size?: number;
}

/**
 * RING_HASH (ketama-style consistent hashing), built as Envoy builds it:
 * - the ring is scaled so the lowest-weighted host gets a whole number of
 *   entries and the ring has at least minimum_ring_size entries (capped at
 *   maximum_ring_size); each host gets `scale × normalized weight` entries,
 *   using running sums so fractional shares are stable;
 * - entry i of a host hashes `${hashKey}_${i}` with xxHash64 (seed 0), hashKey
 *   being the address string or envoy.lb hash_key metadata;
 * - a request hash maps to the first entry whose hash is >= it, wrapping around
 *   (binary search, O(log ring)).
 * MURMUR_HASH_2 is not implemented; xxHash64 is used for it too.
 */
export class RingHashPicker implements HostPicker {
  readonly #hashes: BigUint64Array;
  readonly #hosts: Host[];

  constructor(hosts: readonly Host[], options: RingHashOptions = {}) {
    const minRing = options.minimum_ring_size ?? 1024;
    const maxRing = options.maximum_ring_size ?? 8 * 1024 * 1024;
    const entries: { hash: bigint; host: Host }[] = [];
    let totalWeight = 0;
    for (const h of hosts) totalWeight += h.weight;
    if (hosts.length > 0 && totalWeight > 0) {
      let minNormalized = 1;
      for (const h of hosts) minNormalized = Math.min(minNormalized, h.weight / totalWeight);
      const scale = Math.min(Math.ceil(minNormalized * minRing) / minNormalized, maxRing);
      let current = 0;
      let target = 0;
      for (const host of hosts) {
        target += scale * (host.weight / totalWeight);
        for (let i = 0; current < target; i++, current++) {
          entries.push({ hash: xxHash64(`${host.hashKey}_${i}`), host });
        }
      }
      entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    }
    this.#hashes = new BigUint64Array(entries.length);
    this.#hosts = new Array<Host>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      this.#hashes[i] = entries[i]!.hash;
      this.#hosts[i] = entries[i]!.host;
    }
  }

  get size(): number {
    return this.#hashes.length;
  }

  pick(ctx: PickContext, attempt: number): Host | undefined {
    const n = this.#hashes.length;
    if (n === 0) return undefined;
    const hash = ctx.hash ?? randomHash(ctx.random);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#hashes[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    // On re-selection (retry host predicate), walk clockwise past the hashed entry, as Envoy does.
    return this.#hosts[(lo + attempt) % n];
  }
}
