import type { Locality } from '@meshlet/xds-client';
import type { Host } from './Host.js';
import type { HostPicker, HostPickerFactory } from './HostPicker.js';
import { LocalityWeightedPicker, type WeightedLocality } from './LocalityWeightedPicker.js';
import type { PickContext } from './PickContext.js';
import { computePriorityLoad, type PriorityCounts, type PriorityLoad } from './PriorityLoad.js';

/** One LocalityLbEndpoints entry, resolved to Host objects. */
export interface LocalityHosts {
  readonly locality: Locality;
  /** LocalityLbEndpoints.load_balancing_weight; undefined = no weight in locality-weighted LB. */
  readonly weight: number | undefined;
  readonly hosts: readonly Host[];
}

export interface PrioritySetOptions {
  readonly pickerFactory: HostPickerFactory;
  /** Priorities chosen from the request hash so the same hash stays on one level (RING_HASH / MAGLEV). */
  readonly hashed: boolean;
  /** Cluster.locality_weighted_lb (ignored by hash policies). */
  readonly localityWeighted: boolean;
  /** ClusterLoadAssignment.policy.overprovisioning_factor, percent (default 140). */
  readonly overprovisioningFactor: number;
  /** common_lb_config.healthy_panic_threshold, percent (default 50; 0 disables panic). */
  readonly panicThreshold: number;
  readonly random: () => number;
}

/** How an endpoint's EDS health_status and outlier state place it. */
export type HostUsability = 'healthy' | 'degraded' | 'unhealthy' | 'excluded';

export function usabilityOf(host: Host): HostUsability {
  switch (host.healthStatus) {
    case 'HEALTHY':
    case 'UNKNOWN':
      return host.outlier.ejected ? 'unhealthy' : 'healthy';
    case 'DEGRADED':
      return host.outlier.ejected ? 'unhealthy' : 'degraded';
    case 'DRAINING':
      // Envoy (exclude_host_in_eds_status_draining) excludes draining hosts even from panic balancing.
      return 'excluded';
    default:
      // UNHEALTHY / TIMEOUT: counted in the level's size (so they lower its health) and used only in panic.
      return 'unhealthy';
  }
}

/** One priority's usable hosts, by health. */
interface LevelHosts {
  readonly all: Host[];
  readonly healthy: Host[];
  readonly degraded: Host[];
}

interface Level {
  readonly panic: boolean;
  readonly healthy: HostPicker | undefined;
  readonly degraded: HostPicker | undefined;
  readonly all: HostPicker | undefined;
}

/**
 * The compiled load-balancing structure of a cluster: priority levels, their
 * load split (see computePriorityLoad), and per level the pickers over healthy,
 * degraded and (in panic) all hosts. Rebuilt on endpoint, config or ejection
 * changes; `pick` walks a handful of priorities and delegates, without allocating.
 */
export class PrioritySet {
  readonly load: PriorityLoad;
  readonly #levels: Level[];
  readonly #hashed: boolean;
  /**
   * The picker that takes every pick when one priority's healthy (or degraded) share is
   * 100%, as in nearly every cluster: `pick` then skips the priority draw, whose number
   * would always land there. Saves a random() per pick, which V8 boxes (16 B) when the
   * source is called through the PickContext.
   */
  readonly #sole: HostPicker | undefined;
  /** What a pick that leaves priorities out (retry_priority) needs to rebalance and to build pickers late. */
  readonly #counts: readonly PriorityCounts[];
  readonly #sets: readonly LevelHosts[];
  readonly #localities: readonly (readonly LocalityHosts[] | undefined)[];
  readonly #options: PrioritySetOptions;
  /** Pickers for levels the cluster's own load gives nothing, made when a retry first goes there (key 2i, 2i+1 degraded). */
  #late: Map<number, HostPicker | undefined> | undefined;

  constructor(levels: readonly (readonly LocalityHosts[] | undefined)[], options: PrioritySetOptions) {
    this.#hashed = options.hashed;
    this.#localities = levels;
    this.#options = options;
    const counts: PriorityCounts[] = [];
    const sets: LevelHosts[] = [];
    for (const localities of levels) {
      const set = { all: [] as Host[], healthy: [] as Host[], degraded: [] as Host[] };
      for (const l of localities ?? []) {
        for (const h of l.hosts) {
          const u = usabilityOf(h);
          if (u === 'excluded') continue;
          set.all.push(h);
          if (u === 'healthy') set.healthy.push(h);
          else if (u === 'degraded') set.degraded.push(h);
        }
      }
      sets.push(set);
      counts.push({ total: set.all.length, healthy: set.healthy.length, degraded: set.degraded.length });
    }
    this.load = computePriorityLoad(counts, options.overprovisioningFactor, options.panicThreshold);
    this.#counts = counts;
    this.#sets = sets;

    const make = options.pickerFactory;
    this.#levels = sets.map((set, i) => {
      const panic = this.load.panic[i]!;
      const needed = this.load.healthy[i]! + this.load.degraded[i]! > 0;
      if (!needed) return { panic, healthy: undefined, degraded: undefined, all: undefined };
      if (panic) return { panic, healthy: undefined, degraded: undefined, all: make(set.all, options.random) };
      const healthy = this.#healthyPicker(i);
      const degraded = set.degraded.length > 0 && this.load.degraded[i]! > 0 ? make(set.degraded, options.random) : undefined;
      return { panic, healthy, degraded, all: undefined };
    });
    this.#sole = this.#soleShare();
  }

  #healthyPicker(i: number): HostPicker | undefined {
    const options = this.#options;
    const set = this.#sets[i]!;
    let healthy: HostPicker | undefined = set.healthy.length > 0 ? options.pickerFactory(set.healthy, options.random) : undefined;
    if (healthy && options.localityWeighted && !options.hashed) {
      healthy = new LocalityWeightedPicker(weightedLocalities(this.#localities[i] ?? [], options), healthy);
    }
    return healthy;
  }

  #soleShare(): HostPicker | undefined {
    const { healthy, degraded } = this.load;
    for (let i = 0; i < this.#levels.length; i++) {
      const level = this.#levels[i]!;
      if (healthy[i] === 100) return level.panic ? level.all : level.healthy;
      if (degraded[i] === 100) return level.panic ? level.all : level.degraded;
    }
    return undefined;
  }

  pick(ctx: PickContext, attempt: number): Host | undefined {
    const excluded = ctx.excludedPriorities;
    if (excluded !== undefined && excluded.size > 0) {
      const adjusted = this.#loadWithout(excluded);
      if (adjusted !== undefined) return this.#draw(adjusted, true, ctx, attempt);
    }
    const sole = this.#sole;
    if (sole !== undefined) return sole.pick(ctx, attempt);
    return this.#draw(this.load, false, ctx, attempt);
  }

  /**
   * Draws a priority by `load` (healthy shares first, then degraded) and picks in it. `rebalanced`: a
   * load made without some priorities (#loadWithout), which ignores panic and may send the pick to a level
   * the cluster's own load never built a picker for.
   */
  #draw(load: PriorityLoad, rebalanced: boolean, ctx: PickContext, attempt: number): Host | undefined {
    const n = this.#levels.length;
    let r = this.#hashed && ctx.hash !== undefined ? Number(ctx.hash % 10000n) / 100 : ctx.random() * 100;
    for (let i = 0; i < n; i++) {
      r -= load.healthy[i]!;
      if (r < 0) return (rebalanced ? this.#latePicker(i, false) : this.#pickerIn(i, false))?.pick(ctx, attempt);
    }
    for (let i = 0; i < n; i++) {
      r -= load.degraded[i]!;
      if (r < 0) return (rebalanced ? this.#latePicker(i, true) : this.#pickerIn(i, true))?.pick(ctx, attempt);
    }
    return undefined;
  }

  /**
   * retry_priority previous_priorities: the load with the `excluded` priorities given no health, so
   * their share goes to the rest (panic ignored); undefined when that leaves nothing healthy or
   * degraded, where Envoy drops the exclusion and the cluster's own load applies. Made per retry pick
   * (rare); not cached.
   */
  #loadWithout(excluded: ReadonlySet<number>): PriorityLoad | undefined {
    let left = false;
    const counts = this.#counts.map((c, i) => {
      if (excluded.has(i)) return { total: c.total, healthy: 0, degraded: 0 };
      if (c.healthy + c.degraded > 0) left = true;
      return c;
    });
    return left ? computePriorityLoad(counts, this.#options.overprovisioningFactor, 0) : undefined;
  }

  /** The level's healthy (or degraded) picker, made on first use when the cluster's own load never needed it. */
  #latePicker(i: number, degraded: boolean): HostPicker | undefined {
    const level = this.#levels[i]!;
    const own = degraded ? level.degraded : level.healthy;
    if (own !== undefined) return own;
    const key = 2 * i + (degraded ? 1 : 0);
    const late = (this.#late ??= new Map());
    if (late.has(key)) return late.get(key);
    const set = this.#sets[i]!;
    const picker = degraded ? (set.degraded.length > 0 ? this.#options.pickerFactory(set.degraded, this.#options.random) : undefined) : this.#healthyPicker(i);
    late.set(key, picker);
    return picker;
  }

  #pickerIn(i: number, degraded: boolean): HostPicker | undefined {
    const level = this.#levels[i]!;
    return level.panic ? level.all : degraded ? level.degraded : level.healthy;
  }

}

function weightedLocalities(localities: readonly LocalityHosts[], options: PrioritySetOptions): WeightedLocality[] {
  const out: WeightedLocality[] = [];
  for (const l of localities) {
    if (!l.weight) continue;
    let total = 0;
    const healthy: Host[] = [];
    for (const h of l.hosts) {
      const u = usabilityOf(h);
      if (u === 'excluded') continue;
      total++;
      if (u === 'healthy') healthy.push(h);
    }
    if (healthy.length === 0) continue;
    // Envoy's effective locality weight: weight × min(1, overprovisioning × healthy ratio).
    const weight = l.weight * Math.min(1, ((options.overprovisioningFactor / 100) * healthy.length) / total);
    out.push({ weight, picker: options.pickerFactory(healthy, options.random) });
  }
  return out;
}
