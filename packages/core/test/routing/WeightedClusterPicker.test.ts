import { describe, expect, it } from 'vitest';
import type { ClusterWeight, WeightedClusters } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { ClusterHeaderPicker, SingleClusterPicker, WeightedClusterPicker } from '../../src/routing/index.js';
import { headers, seededRandom } from './builders.js';

function cw(name: string, weight: number): ClusterWeight {
  return {
    name,
    weight,
    request_headers_to_add: [],
    request_headers_to_remove: [],
    response_headers_to_add: [],
    response_headers_to_remove: [],
    typed_per_filter_config: {},
  };
}
const wc = (clusters: ClusterWeight[], total_weight?: number): WeightedClusters => ({ clusters, ...(total_weight !== undefined ? { total_weight } : {}) });
const noHeaders = headers();

describe('WeightedClusterPicker', () => {
  it('distributes picks by weight (60k seeded picks, each share within ±1 percentage point)', () => {
    const p = new WeightedClusterPicker(wc([cw('a', 10), cw('b', 30), cw('zero', 0), cw('c', 60)]), 'wc');
    const rnd = seededRandom(42);
    const n = 60_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const name = p.pick(rnd()).name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    // Binomial sd at n=60k is at most ~0.2 pp, so ±1 pp is a > 4 sigma tolerance.
    expect(Math.abs((counts.get('a') ?? 0) / n - 0.1)).toBeLessThan(0.01);
    expect(Math.abs((counts.get('b') ?? 0) / n - 0.3)).toBeLessThan(0.01);
    expect(Math.abs((counts.get('c') ?? 0) / n - 0.6)).toBeLessThan(0.01);
    expect(counts.has('zero')).toBe(false);
  });

  it('maps the random value onto cumulative weight slots exactly', () => {
    const p = new WeightedClusterPicker(wc([cw('a', 1), cw('b', 0), cw('c', 2), cw('d', 1)]), 'wc');
    expect(p.totalWeight).toBe(4);
    expect([0, 0.24, 0.25, 0.74, 0.75, 0.9999].map((r) => p.pick(r).name)).toEqual(['a', 'a', 'c', 'c', 'd', 'd']);
    expect(p.clusters.map((c) => c.name)).toEqual(['a', 'c', 'd']);
  });

  it('never picks a zero-weight cluster, even at the edges', () => {
    const p = new WeightedClusterPicker(wc([cw('z1', 0), cw('a', 5), cw('z2', 0)]), 'wc');
    for (const r of [0, 1e-12, 0.5, 0.999999999, 1, -1, Number.NaN]) expect(p.pick(r).name).toBe('a');
  });

  it('returns the ClusterWeight with the pick, and the same object each time', () => {
    const b = cw('b', 1);
    const p = new WeightedClusterPicker(wc([b]), 'wc');
    expect(p.pick(0.3).weight).toBe(b);
    expect(p.pick(0.3)).toBe(p.pick(0.7));
  });

  it('takes the sum of the weights as the total whatever the deprecated total_weight says (Envoy >= 1.24)', () => {
    expect(new WeightedClusterPicker(wc([cw('a', 40), cw('b', 60)], 100), 'wc').totalWeight).toBe(100);
    const p = new WeightedClusterPicker(wc([cw('a', 40), cw('b', 50)], 100), 'wc');
    expect(p.totalWeight).toBe(90);
    // 40 of 90 to a: a draw just under 40/90 picks a, just over picks b.
    expect(p.pick(40 / 90 - 1e-9).name).toBe('a');
    expect(p.pick(40 / 90 + 1e-9).name).toBe('b');
  });

  it('rejects all-zero weights, negative and non-integer weights', () => {
    expect(() => new WeightedClusterPicker(wc([cw('a', 0)]), 'wc')).toThrow(/above 0/);
    expect(() => new WeightedClusterPicker(wc([cw('a', -1)]), 'wc')).toThrow(ValidationError);
    expect(() => new WeightedClusterPicker(wc([cw('a', 1.5)]), 'wc')).toThrow(ValidationError);
  });
});

describe('SingleClusterPicker / ClusterHeaderPicker', () => {
  it('single cluster always picks the same cluster', () => {
    const p = new SingleClusterPicker('c');
    expect(p.pick()).toEqual({ name: 'c' });
  });

  it('cluster_header picks the named cluster, nothing when absent or empty', () => {
    const p = new ClusterHeaderPicker('x-cluster');
    expect(p.pick(0, headers({ 'x-cluster': 'east' }))?.name).toBe('east');
    expect(p.pick(0, headers({ 'x-cluster': 'west' }))?.name).toBe('west');
    expect(p.pick(0, headers({ 'x-cluster': '' }))).toBeUndefined();
    expect(p.pick(0, noHeaders)).toBeUndefined();
  });
});
