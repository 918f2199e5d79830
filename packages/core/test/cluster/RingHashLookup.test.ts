/**
 * The ring lookup compares 64-bit hashes as two 32-bit halves (no BigInt per step). Property: for
 * any request hash, the picked host is the one owning the first ring entry whose hash is >= the
 * request's, wrapping to the first entry (Envoy's RingHashLoadBalancer), including hashes equal to
 * or one off an entry's, where the high halves are equal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Host, RingHashPicker, initHashing, xxHash64, type PickContext } from '../../src/cluster/index.js';
import { endpoint } from './support.js';

await initHashing();

function host(i: number): Host {
  const h = new Host(`10.1.0.${i}`, 8080);
  h.update(endpoint(h.address, 8080), { region: '', zone: '', sub_zone: '' }, 0);
  return h;
}

describe('RingHashPicker lookup', () => {
  // Two equal hosts, minimum ring 1024: 512 entries each, hashed `${hashKey}_${i}` as Envoy does.
  const hosts = [host(1), host(2)];
  const picker = new RingHashPicker(hosts, { minimum_ring_size: 1024, maximum_ring_size: 1024 });
  const ring = hosts
    .flatMap((h) => Array.from({ length: 512 }, (_, i) => ({ hash: xxHash64(`${h.hashKey}_${i}`), host: h })))
    .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const owner = (hash: bigint): Host => (ring.find((e) => e.hash >= hash) ?? ring[0]!).host;
  const pick = (hash: bigint): Host | undefined => picker.pick({ hash, random: Math.random } as PickContext, 0);
  const MAX = (1n << 64n) - 1n;

  it('has the ring this test models', () => {
    expect(picker.size).toBe(1024);
  });

  it('property: any 64-bit request hash goes to the owner of the first entry at or after it', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: MAX }), (hash) => void expect(pick(hash)).toBe(owner(hash))), { numRuns: 2000 });
  });

  it('at, just before and just after every entry (equal high halves), and at both ends of the range', () => {
    for (const { hash } of ring) {
      for (const h of [hash - 1n, hash, hash + 1n]) if (h >= 0n && h <= MAX) expect(pick(h)).toBe(owner(h));
    }
    expect(pick(0n)).toBe(ring[0]!.host);
    expect(pick(MAX)).toBe(owner(MAX));
  });
});
