import { describe, expect, it } from 'vitest';
import { RetryBackoff } from '../../src/retry/RetryBackoff.js';
import { seededRandom } from '../call/fixtures.js';

describe('RetryBackoff (Envoy fully jittered exponential)', () => {
  it('ceiling doubles from base and caps at max (default 10x base)', () => {
    const b = new RetryBackoff(25);
    expect([1, 2, 3, 4, 5, 6, 40].map((n) => b.ceilingMs(n))).toEqual([25, 50, 100, 200, 250, 250, 250]);
    const c = new RetryBackoff(10, 35);
    expect([1, 2, 3, 4].map((n) => c.ceilingMs(n))).toEqual([10, 20, 35, 35]);
  });

  it('an interval at or above floor(max / 2) jumps straight to max (Envoy doubling_limit_)', () => {
    expect([1, 2, 3].map((n) => new RetryBackoff(25, 51).ceilingMs(n))).toEqual([25, 51, 51]);
    expect([1, 2, 3, 4].map((n) => new RetryBackoff(25, 101).ceilingMs(n))).toEqual([25, 50, 101, 101]);
    expect([1, 2, 3].map((n) => new RetryBackoff(40, 40).ceilingMs(n))).toEqual([40, 40, 40]);
  });

  it("gRPC (gRFC A6) caps with min(base * 2^(N-1), max) instead", () => {
    expect([1, 2, 3].map((n) => new RetryBackoff(25, 51, 'grpc').ceilingMs(n))).toEqual([25, 50, 51]);
    expect([1, 2, 3, 4].map((n) => new RetryBackoff(25, 101, 'grpc').ceilingMs(n))).toEqual([25, 50, 100, 101]);
    expect([1, 2, 5, 6].map((n) => new RetryBackoff(25, undefined, 'grpc').ceilingMs(n))).toEqual([25, 50, 250, 250]);
  });

  it('max below base is raised to base', () => {
    expect(new RetryBackoff(100, 10).maxMs).toBe(100);
  });

  it('draws integers uniformly in [0, ceiling): bounds, mean and spread (seeded, 20k samples)', () => {
    const b = new RetryBackoff(25);
    const random = seededRandom(42);
    const N = 20_000;
    for (const retry of [1, 2, 3, 5]) {
      const ceiling = b.ceilingMs(retry);
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      let allIntegers = true;
      for (let i = 0; i < N; i++) {
        const d = b.delayMs(retry, random);
        if (!Number.isInteger(d)) allIntegers = false;
        sum += d;
        if (d < min) min = d;
        if (d > max) max = d;
      }
      // Uniform integers on [0, c-1]: mean (c-1)/2. Tolerance 3% of the ceiling
      // (the standard error is c/sqrt(12N) ~ 0.2% of c, so this is > 10 sigma).
      expect(Math.abs(sum / N - (ceiling - 1) / 2)).toBeLessThan(0.03 * ceiling);
      expect(allIntegers).toBe(true);
      expect(min).toBe(0);
      expect(max).toBe(ceiling - 1);
    }
  });

  it('random = 0 gives 0 and random just below 1 gives ceiling - 1', () => {
    const b = new RetryBackoff(25);
    expect(b.delayMs(3, () => 0)).toBe(0);
    expect(b.delayMs(3, () => 0.999999)).toBe(99);
  });
});
