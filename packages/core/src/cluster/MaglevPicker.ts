import { randomHash, xxHash64 } from './Hashing.js';
import type { Host } from './Host.js';
import type { HostPicker } from './HostPicker.js';
import type { PickContext } from './PickContext.js';

const DEFAULT_TABLE_SIZE = 65537;
/** 2^64 / golden ratio: mixes the attempt number into the hash for re-selection. */
const REPICK_MIX = 0x9e3779b97f4a7c15n;

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/**
 * MAGLEV consistent hashing (Eisenbud et al., listing 1), weighted as Envoy does:
 * each host has a permutation of table slots given by
 * offset = xxHash64(key, seed 0) mod M and skip = xxHash64(key, seed 1) mod (M-1) + 1;
 * hosts take turns claiming their next free preferred slot, a host of weight w
 * taking a turn in iteration k when k·w has caught up with its running target
 * (which starts at, and advances by, the maximum weight). Lookup is
 * `table[hash mod M]`, O(1).
 *
 * Hosts are sorted by hash key before building so the table does not depend on
 * EDS ordering. MaglevLbConfig.table_size must be prime (default 65537); a
 * non-prime size falls back to the default.
 */
export class MaglevPicker implements HostPicker {
  readonly #table: Host[];
  readonly #size: bigint;

  constructor(hosts: readonly Host[], tableSize = DEFAULT_TABLE_SIZE) {
    const m = isPrime(tableSize) ? tableSize : DEFAULT_TABLE_SIZE;
    this.#size = BigInt(m);
    const sorted = hosts.filter((h) => h.weight > 0).sort((a, b) => (a.hashKey < b.hashKey ? -1 : a.hashKey > b.hashKey ? 1 : 0));
    this.#table = sorted.length === 0 ? [] : new Array<Host>(m);
    if (sorted.length === 0) return;

    const bigM = BigInt(m);
    let maxWeight = 0;
    for (const h of sorted) maxWeight = Math.max(maxWeight, h.weight);
    const entries = sorted.map((host) => ({
      host,
      offset: Number(xxHash64(host.hashKey, 0n) % bigM),
      skip: Number(xxHash64(host.hashKey, 1n) % (bigM - 1n)) + 1,
      next: 0,
      target: maxWeight,
    }));
    const taken = new Uint8Array(m);
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < entries.length && filled < m; i++) {
        const e = entries[i]!;
        if (iteration * e.host.weight < e.target) continue;
        e.target += maxWeight;
        let slot = (e.offset + e.skip * e.next) % m;
        while (taken[slot] === 1) {
          e.next++;
          slot = (e.offset + e.skip * e.next) % m;
        }
        taken[slot] = 1;
        this.#table[slot] = e.host;
        e.next++;
        filled++;
      }
    }
  }

  /** @internal the built lookup table (tests check consistency). */
  get table(): readonly Host[] {
    return this.#table;
  }

  pick(ctx: PickContext, attempt: number): Host | undefined {
    if (this.#table.length === 0) return undefined;
    let hash = ctx.hash ?? randomHash(ctx.random);
    // Re-selection (retry host predicate): perturb the hash so another slot is consulted.
    if (attempt > 0) hash = BigInt.asUintN(64, hash + BigInt(attempt) * REPICK_MIX);
    return this.#table[Number(hash % this.#size)];
  }
}
