import type { WeightedClusters } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { ClusterPicker, PickedCluster } from './ClusterPicker.js';

/**
 * RouteAction.weighted_clusters. The total is the sum of the weights; the deprecated `total_weight`
 * is not read, as in Envoy since 1.24 (the decoder does not check it either). Clusters with weight 0 are
 * dropped at compile time, so they can never be picked. Picking is a binary search over the
 * precomputed cumulative weights: O(log n), no allocation.
 */
export class WeightedClusterPicker implements ClusterPicker {
  /** cumulative[i] = sum of weights of entries[0..i] */
  private readonly cumulative: Float64Array;
  private readonly entries: readonly PickedCluster[];
  readonly totalWeight: number;

  constructor(config: WeightedClusters, fieldPath: string) {
    const entries: PickedCluster[] = [];
    const cumulative: number[] = [];
    let sum = 0;
    config.clusters.forEach((c, i) => {
      const w = c.weight;
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new ValidationError(`${fieldPath}.clusters[${i}].weight`, `weight must be a uint32, got ${w}`);
      }
      if (c.name === '') throw new ValidationError(`${fieldPath}.clusters[${i}].name`, 'cluster name must not be empty');
      if (w === 0) return;
      sum += w;
      entries.push(Object.freeze({ name: c.name, weight: c }));
      cumulative.push(sum);
    });
    if (sum === 0) throw new ValidationError(`${fieldPath}.clusters`, 'weighted_clusters needs at least one cluster with a weight above 0');
    if (sum > 0xffffffff) throw new ValidationError(`${fieldPath}.clusters`, `sum of weights ${sum} overflows uint32`);
    this.entries = entries;
    this.cumulative = Float64Array.from(cumulative);
    this.totalWeight = sum;
  }

  /** The clusters that can be picked (weight > 0), in config order. */
  get clusters(): readonly PickedCluster[] {
    return this.entries;
  }

  pick(random: number): PickedCluster {
    // target in [0, total): the first entry whose cumulative weight exceeds it owns that slot.
    let target = Math.floor(random * this.totalWeight);
    if (!(target >= 0)) target = 0;
    else if (target >= this.totalWeight) target = this.totalWeight - 1;
    const cum = this.cumulative;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return this.entries[lo]!;
  }
}
