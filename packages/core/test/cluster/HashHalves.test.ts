import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashHigh, hashLow } from '../../src/cluster/HashHalves.js';

const hash64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

describe('HashHalves', () => {
  it('splits any 64-bit hash as >> 32n and & 0xffffffffn do (property)', () => {
    fc.assert(
      fc.property(hash64, (h) => {
        expect(hashHigh(h)).toBe(Number(h >> 32n));
        expect(hashLow(h)).toBe(Number(h & 0xffffffffn));
      }),
      { numRuns: 2000 },
    );
    expect([hashHigh(2n ** 64n - 1n), hashLow(2n ** 64n - 1n)]).toEqual([0xffffffff, 0xffffffff]);
  });
});
