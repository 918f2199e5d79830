import { describe, expect, it } from 'vitest';
import { Host, LeastRequestPicker, PickFirstPicker, RandomPicker, RoundRobinPicker, type PickContext } from '../../src/cluster/index.js';
import { endpoint, seededRandom, tally } from './support.js';

function hosts(weights: number[]): Host[] {
  return weights.map((w, i) => {
    const h = new Host(`10.0.0.${i + 1}`, 80);
    h.update(endpoint(h.address, 80, { weight: w }), { region: '', zone: '', sub_zone: '' }, 0);
    return h;
  });
}

const N = 20_000;

describe('RoundRobinPicker', () => {
  it('rotates through equal-weight hosts in order', () => {
    const hs = hosts([1, 1, 1]);
    const ctx: PickContext = { random: seededRandom(1) };
    const picker = new RoundRobinPicker(hs, () => 0);
    const seq = Array.from({ length: 6 }, () => picker.pick(ctx, 0)!.key);
    expect(seq).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  });

  it.each([
    { weights: [1, 2, 3] },
    { weights: [5, 1] },
    { weights: [10, 10, 1, 3] },
  ])('weighted (EDF) picks exactly in proportion to weights $weights over whole cycles', ({ weights }) => {
    const hs = hosts(weights);
    const total = weights.reduce((a, b) => a + b, 0);
    const picker = new RoundRobinPicker(hs, seededRandom(2));
    const counts = tally(total * 100, () => picker.pick({ random: seededRandom(3) }, 0));
    hs.forEach((h, i) => expect(counts.get(h.key)).toBe(weights[i]! * 100));
  });

  it('interleaves weighted picks smoothly instead of bursting', () => {
    const hs = hosts([1, 3]);
    const picker = new RoundRobinPicker(hs, () => 0);
    const seq = Array.from({ length: 8 }, () => picker.pick({ random: Math.random }, 0)!.key);
    // In every window of 4 picks the weight-1 host appears exactly once.
    expect(seq.slice(0, 4).filter((k) => k === '10.0.0.1:80')).toHaveLength(1);
    expect(seq.slice(4, 8).filter((k) => k === '10.0.0.1:80')).toHaveLength(1);
  });

  it('returns undefined for no hosts', () => {
    expect(new RoundRobinPicker([], Math.random).pick({ random: Math.random }, 0)).toBeUndefined();
  });
});

describe('RandomPicker', () => {
  it('is uniform (each of 4 hosts within ±5% of N/4 over 20k seeded picks), ignoring weights like Envoy', () => {
    const hs = hosts([1, 1, 1, 10]);
    const ctx: PickContext = { random: seededRandom(7) };
    const picker = new RandomPicker(hs);
    const counts = tally(N, () => picker.pick(ctx, 0));
    for (const h of hs) expect(Math.abs(counts.get(h.key)! - N / 4)).toBeLessThan(0.05 * (N / 4));
  });
});

describe('LeastRequestPicker', () => {
  it('with equal weights and no load spreads evenly (±5%)', () => {
    const hs = hosts([1, 1, 1, 1]);
    const ctx: PickContext = { random: seededRandom(11) };
    const picker = new LeastRequestPicker(hs, 2);
    const counts = tally(N, () => picker.pick(ctx, 0));
    for (const h of hs) expect(Math.abs(counts.get(h.key)! - N / 4)).toBeLessThan(0.05 * (N / 4));
  });

  it('power of two choices: a loaded host is picked only when drawn twice (p = 1/n²)', () => {
    const hs = hosts([1, 1, 1, 1]);
    hs[0]!.activeRequests = 5;
    const ctx: PickContext = { random: seededRandom(12) };
    const counts = tally(N, () => new LeastRequestPicker(hs, 2).pick(ctx, 0));
    // Expected share 1/16 = 6.25%; tolerance ±1.5 percentage points.
    expect(Math.abs(counts.get(hs[0]!.key)! / N - 1 / 16)).toBeLessThan(0.015);
  });

  it('choice_count = number of hosts almost always finds the idle host', () => {
    const hs = hosts([1, 1, 1]);
    hs[0]!.activeRequests = 3;
    hs[1]!.activeRequests = 3;
    const ctx: PickContext = { random: seededRandom(13) };
    const picker = new LeastRequestPicker(hs, 10);
    const counts = tally(1000, () => picker.pick(ctx, 0));
    // Misses the idle host only if none of 10 draws hit it: (2/3)^10 ≈ 1.7%.
    expect(counts.get(hs[2]!.key)!).toBeGreaterThan(950);
  });

  it('weighted: follows weights when idle and shifts away from a busy host', () => {
    const hs = hosts([1, 3]);
    const picker = new LeastRequestPicker(hs, 2);
    const idle = tally(4000, () => picker.pick({ random: Math.random }, 0));
    expect(idle.get(hs[1]!.key)).toBe(3000);
    hs[1]!.activeRequests = 5; // effective weight 3/6 = 0.5 < 1
    const busy = new LeastRequestPicker(hs, 2);
    const counts = tally(3000, () => busy.pick({ random: Math.random }, 0));
    expect(counts.get(hs[0]!.key)).toBe(2000);
  });
});

describe('PickFirstPicker', () => {
  it('always picks the first address, the next one on re-selection', () => {
    const hs = hosts([1, 1, 1]);
    const picker = new PickFirstPicker(hs, Math.random);
    expect(picker.pick({ random: Math.random }, 0)).toBe(hs[0]);
    expect(picker.pick({ random: Math.random }, 0)).toBe(hs[0]);
    expect(picker.pick({ random: Math.random }, 1)).toBe(hs[1]);
  });

  it('shuffle_address_list permutes the order once', () => {
    const hs = hosts([1, 1, 1, 1, 1, 1]);
    const firsts = new Set(Array.from({ length: 50 }, (_, s) => new PickFirstPicker(hs, seededRandom(s), true).pick({ random: Math.random }, 0)!.key));
    expect(firsts.size).toBeGreaterThan(1);
  });
});
