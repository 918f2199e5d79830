import { describe, expect, it } from 'vitest';
import { computePriorityLoad } from '../../src/cluster/index.js';

const level = (total: number, healthy: number, degraded = 0) => ({ total, healthy, degraded });

describe('computePriorityLoad (Envoy priority levels)', () => {
  it.each([
    { name: 'all healthy P0 takes everything', levels: [level(4, 4), level(4, 4)], healthy: [100, 0], degraded: [0, 0] },
    { name: 'P0 50% healthy at factor 140 keeps 70%', levels: [level(10, 5), level(10, 10)], healthy: [70, 30], degraded: [0, 0] },
    { name: 'P0 80% healthy is still 100% (overprovisioned)', levels: [level(10, 8), level(10, 10)], healthy: [100, 0], degraded: [0, 0] },
    { name: 'P0 dead spills all load to P1', levels: [level(2, 0), level(2, 2)], healthy: [0, 100], degraded: [0, 0] },
    { name: 'three levels cascade', levels: [level(10, 2), level(10, 3), level(10, 10)], healthy: [28, 42, 30], degraded: [0, 0, 0] },
    { name: 'degraded hosts take load only when healthy capacity is short', levels: [level(10, 5, 5), level(10, 0, 0)], healthy: [70, 0], degraded: [30, 0] },
  ])('$name', ({ levels, healthy, degraded }) => {
    const load = computePriorityLoad(levels);
    expect(load.healthy).toEqual(healthy);
    expect(load.degraded).toEqual(degraded);
  });

  it('normalizes when total availability is below 100 (P0 30%, P1 20% -> 60/40)', () => {
    const load = computePriorityLoad([level(10, 3), level(35, 5)], 100, 0);
    // health: 30 and floor(100*5/35)=14 -> total 44 -> 68 / 31 (+1 rounding to P0)
    expect(load.healthy[0]! + load.healthy[1]!).toBe(100);
    expect(load.healthy).toEqual([69, 31]);
  });

  it('respects overprovisioning_factor', () => {
    expect(computePriorityLoad([level(10, 5), level(10, 10)], 100).healthy).toEqual([50, 50]);
    expect(computePriorityLoad([level(10, 5), level(10, 10)], 200).healthy).toEqual([100, 0]);
  });

  it('marks a level in panic below healthy_panic_threshold', () => {
    const load = computePriorityLoad([level(10, 4), level(10, 10)]);
    expect(load.panic).toEqual([true, false]);
    expect(load.healthy).toEqual([56, 44]);
  });

  it('total panic splits load by host count', () => {
    const load = computePriorityLoad([level(3, 0), level(1, 0)]);
    expect(load.panic).toEqual([true, true]);
    expect(load.healthy).toEqual([75, 25]);
  });

  it('panic threshold 0 disables panic: no availability means no load anywhere usable', () => {
    const load = computePriorityLoad([level(3, 0)], 140, 0);
    expect(load.panic).toEqual([false]);
    expect(load.healthy).toEqual([100]);
  });
});
