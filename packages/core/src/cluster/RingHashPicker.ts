import { randomHash, xxHash64 } from './Hashing.js';
import { hashHigh, hashLow } from './HashHalves.js';
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
  /**
   * The ring's 64-bit hashes as their high and low 32-bit halves: reading a BigUint64Array element
   * makes a BigInt, so a binary search over one allocated one per step (about 430 B per pick).
   */
  readonly #high: Uint32Array;
  readonly #low: Uint32Array;
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
    this.#high = new Uint32Array(entries.length);
    this.#low = new Uint32Array(entries.length);
    this.#hosts = new Array<Host>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const hash = entries[i]!.hash;
      this.#high[i] = hashHigh(hash);
      this.#low[i] = hashLow(hash);
      this.#hosts[i] = entries[i]!.host;
    }
  }

  get size(): number {
    return this.#hosts.length;
  }

  pick(ctx: PickContext, attempt: number): Host | undefined {
    const n = this.#hosts.length;
    if (n === 0) return undefined;
    const hash = ctx.hash ?? randomHash(ctx.random);
    const high = hashHigh(hash);
    const low = hashLow(hash);
    const highs = this.#high;
    const lows = this.#low;
    let lo = 0;
    let hi = n;
    // The first entry whose hash is >= the request's (64-bit compare on the two halves).
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const h = highs[mid]!;
      if (h < high || (h === high && lows[mid]! < low)) lo = mid + 1;
      else hi = mid;
    }
    // On re-selection (retry host predicate), walk clockwise past the hashed entry, as Envoy does.
    return this.#hosts[(lo + attempt) % n];
  }
}
