import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExponentialBackoff } from '../src/transport/Backoff.js';

describe('ExponentialBackoff', () => {
  it('follows gRPC connection-backoff defaults without jitter at the midpoint', () => {
    const b = new ExponentialBackoff({ random: () => 0.5 });
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 1600, 2560]);
  });

  it('caps at MAX_BACKOFF (120 s by default)', () => {
    const b = new ExponentialBackoff({ random: () => 0.5 });
    let last = 0;
    for (let i = 0; i < 40; i++) last = b.next();
    expect(last).toBe(120_000);
  });

  it('jitters by +-20% around the base delay', () => {
    expect(new ExponentialBackoff({ random: () => 0 }).next()).toBe(800);
    expect(new ExponentialBackoff({ random: () => 0.999999 }).next()).toBe(1200);
  });

  it('reset() starts over from the initial delay', () => {
    const b = new ExponentialBackoff({ initialMs: 10, random: () => 0.5 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(10);
  });

  it('rejects nonsensical options', () => {
    expect(() => new ExponentialBackoff({ multiplier: 0.5 })).toThrow(RangeError);
    expect(() => new ExponentialBackoff({ jitter: 2 })).toThrow(RangeError);
    expect(() => new ExponentialBackoff({ initialMs: -1 })).toThrow(RangeError);
  });

  it('every delay stays within jitter bounds of the capped exponential base', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 1, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.array(fc.double({ min: 0, max: 0.9999, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (initialMs, multiplier, jitter, maxMs, randoms) => {
          let i = 0;
          const b = new ExponentialBackoff({ initialMs, multiplier, jitter, maxMs, random: () => randoms[i++ % randoms.length]! });
          let base = Math.min(initialMs, maxMs);
          for (let n = 0; n < randoms.length; n++) {
            const d = b.next();
            expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)) - 1);
            expect(d).toBeLessThanOrEqual(Math.ceil(base * (1 + jitter)) + 1);
            base = Math.min(base * multiplier, maxMs);
          }
        },
      ),
    );
  });
});
