import type { Cluster, ClusterLoadAssignment, RouteAction, Thresholds } from '@meshlet/xds-client';
import type { AttemptResult } from './AttemptResult.js';
import { CircuitBreaker, type CircuitBreakerStats } from './CircuitBreaker.js';
import type { Clock, Timers } from './Clock.js';
import type { Disposable } from './Disposable.js';
import { Host } from './Host.js';
import { OutlierDetector } from './OutlierDetector.js';
import type { PickContext } from './PickContext.js';
import { isHashPolicy, pickerFactoryFor } from './PickerFactory.js';
import { PrioritySet, type LocalityHosts } from './PrioritySet.js';

export interface ClusterRuntimeOptions {
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Uniform [0, 1) for start offsets, outlier enforcement rolls and jitter (picks use PickContext.random). */
  readonly random?: () => number;
}

function thresholdsFor(cluster: Cluster, priority: Thresholds['priority']): Thresholds | undefined {
  return cluster.circuit_breakers?.thresholds.find((t) => t.priority === priority);
}

const NO_HOSTS: ReadonlyMap<string, Host> = new Map();
const NO_HOST_LIST: readonly Host[] = Object.freeze([]);
const NO_SUBSCRIPTIONS: readonly Disposable[] = Object.freeze([]);
const NO_LEVELS: readonly LocalityHosts[][] = Object.freeze([]);
/** The options of a runtime made without any: one shared object, not an empty one per cluster. */
const DEFAULT_OPTIONS: ClusterRuntimeOptions = Object.freeze({});

/**
 * Everything a call needs about one upstream cluster: its hosts and their
 * health, the compiled load balancer, circuit breakers and outlier detection.
 *
 * The LB structure (PrioritySet) is compiled on each endpoint / config push and
 * after ejections (lazily, at the next pick), never per pick. Host objects and
 * their state survive pushes that keep their address:port.
 *
 * Host objects are built from the latest ClusterLoadAssignment on first use (a pick,
 * `hosts()`, an outlier sweep), not when it arrives: a mesh holds every cluster of a
 * 10,000-cluster push, and a process routes to a few of them.
 */
export class ClusterRuntime {
  /** Thresholds for RoutingPriority DEFAULT. */
  readonly breakers: CircuitBreaker;
  /** Thresholds for RoutingPriority HIGH: made on first use (no route asks for HIGH yet), not for each of 10,000 clusters. */
  #breakersHigh: CircuitBreaker | undefined;

  #cluster: Cluster;
  #overprovisioningFactor = 140;
  // Shared empties until the first endpoints are applied (they are replaced, never changed):
  // a 10,000-cluster push makes no empty Map and lists per runtime.
  #hostMap: ReadonlyMap<string, Host> = NO_HOSTS;
  #hostList: readonly Host[] = NO_HOST_LIST;
  /** The last EDS assignment not yet turned into Host objects. */
  #pendingEndpoints: ClusterLoadAssignment | undefined;
  #levels: readonly LocalityHosts[][] = NO_LEVELS;
  #prioritySet: PrioritySet | undefined;
  #outlier: OutlierDetector | undefined;
  #outlierSubscriptions: readonly Disposable[] = NO_SUBSCRIPTIONS;
  readonly #options: ClusterRuntimeOptions;
  readonly #random: () => number;

  constructor(cluster: Cluster, options: ClusterRuntimeOptions = DEFAULT_OPTIONS) {
    this.#cluster = cluster;
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.breakers = new CircuitBreaker(thresholdsFor(cluster, 'DEFAULT'));
    this.#configureOutlier(cluster);
    if (cluster.load_assignment) this.updateEndpoints(cluster.load_assignment);
  }

  get breakersHigh(): CircuitBreaker {
    return (this.#breakersHigh ??= new CircuitBreaker(thresholdsFor(this.#cluster, 'HIGH')));
  }

  /** Envoy keeps one resource manager per RoutingPriority; a route's priority picks which its requests count against. */
  breakersFor(priority: RouteAction['priority']): CircuitBreaker {
    return priority === 'HIGH' ? this.breakersHigh : this.breakers;
  }

  /** Overflows of both priorities: Envoy's upstream_*_overflow counters are the cluster's, whatever the priority. */
  overflowStats(): CircuitBreakerStats {
    const d = this.breakers.stats;
    const h = this.#breakersHigh?.stats;
    if (h === undefined) return { ...d };
    return {
      cx_overflow: d.cx_overflow + h.cx_overflow,
      rq_pending_overflow: d.rq_pending_overflow + h.rq_pending_overflow,
      rq_overflow: d.rq_overflow + h.rq_overflow,
      rq_retry_overflow: d.rq_retry_overflow + h.rq_retry_overflow,
    };
  }

  get name(): string {
    return this.#cluster.name;
  }

  get cluster(): Cluster {
    return this.#cluster;
  }

  get outlier(): OutlierDetector | undefined {
    return this.#outlier;
  }

  /** The compiled LB structure (for debugging and tests). */
  get prioritySet(): PrioritySet {
    return (this.#prioritySet ??= this.#compile());
  }

  updateEndpoints(cla: ClusterLoadAssignment): void {
    this.#pendingEndpoints = cla;
    this.#prioritySet = undefined;
  }

  /** Turns the pending assignment, if any, into Hosts (kept across updates by address:port). */
  #applyEndpoints(): void {
    const cla = this.#pendingEndpoints;
    if (cla === undefined) return;
    this.#pendingEndpoints = undefined;
    const next = new Map<string, Host>();
    const levels: LocalityHosts[][] = [];
    for (const lle of cla.endpoints) {
      const hosts: Host[] = [];
      for (const ep of lle.lb_endpoints) {
        const key = Host.keyOf(ep.address.address, ep.address.port_value);
        // An address listed twice keeps its first placement: one Host per address:port.
        if (next.has(key)) continue;
        const host = this.#hostMap.get(key) ?? new Host(ep.address.address, ep.address.port_value);
        host.update(ep, lle.locality, lle.priority);
        next.set(key, host);
        hosts.push(host);
      }
      (levels[lle.priority] ??= []).push({ locality: lle.locality, weight: lle.load_balancing_weight, hosts });
    }
    // Sparse priorities become empty levels (Envoy keeps a host set per priority index).
    for (let i = 0; i < levels.length; i++) levels[i] ??= [];
    this.#hostMap = next;
    this.#hostList = [...next.values()];
    this.#levels = levels;
    this.#overprovisioningFactor = cla.policy.overprovisioning_factor ?? 140;
    this.#prioritySet = undefined;
  }

  updateCluster(cluster: Cluster): void {
    this.#cluster = cluster;
    this.breakers.configure(thresholdsFor(cluster, 'DEFAULT'));
    this.#breakersHigh?.configure(thresholdsFor(cluster, 'HIGH'));
    this.#configureOutlier(cluster);
    this.#prioritySet = undefined;
  }

  /**
   * Chooses a host for one attempt, or undefined when there is none to use
   * (Envoy's "no healthy upstream", flag UH). Hosts in `ctx.avoid` are re-picked up
   * to `ctx.maxSelectionAttempts` (default 1) extra times, then used anyway.
   */
  pick(ctx: PickContext): Host | undefined {
    const set = (this.#prioritySet ??= this.#compile());
    let host = set.pick(ctx, 0);
    const avoid = ctx.avoid;
    if (avoid === undefined || avoid.size === 0) return host;
    const retries = ctx.maxSelectionAttempts ?? 1;
    for (let attempt = 1; attempt <= retries && host !== undefined && avoid.has(host); attempt++) {
      host = set.pick(ctx, attempt);
    }
    return host;
  }

  reportResult(host: Host, result: AttemptResult): void {
    this.#outlier?.putResult(host, result);
  }

  hosts(): readonly Host[] {
    // Tested here rather than in the method: gRPC calls read hosts() per call (MeshChannel.sawSnapshot), and
    // V8 left the private method's call uninlined and in baseline code (about 300 instructions a call).
    if (this.#pendingEndpoints !== undefined) this.#applyEndpoints();
    return this.#hostList;
  }

  close(): void {
    this.#closeOutlier();
  }

  #compile(): PrioritySet {
    this.#applyEndpoints();
    const c = this.#cluster;
    return new PrioritySet(this.#levels, {
      pickerFactory: pickerFactoryFor(c.lb_policy),
      hashed: isHashPolicy(c.lb_policy),
      localityWeighted: c.locality_weighted_lb ?? false,
      overprovisioningFactor: this.#overprovisioningFactor,
      panicThreshold: c.healthy_panic_threshold ?? 50,
      random: this.#random,
    });
  }

  #configureOutlier(cluster: Cluster): void {
    const config = cluster.outlier_detection;
    if (config === undefined) {
      if (this.#outlier) {
        this.#outlier.unejectAll();
        this.#closeOutlier();
      }
      return;
    }
    if (this.#outlier) {
      this.#outlier.updateConfig(config);
      return;
    }
    const detector = new OutlierDetector(config, () => this.hosts(), {
      clock: this.#options.clock,
      timers: this.#options.timers,
      random: this.#random,
    });
    // Ejections change who is healthy: recompile at the next pick (one rebuild per sweep, however many ejections).
    const invalidate = () => {
      this.#prioritySet = undefined;
    };
    this.#outlierSubscriptions = [detector.onEject(invalidate), detector.onUneject(invalidate)];
    this.#outlier = detector;
  }

  #closeOutlier(): void {
    for (const s of this.#outlierSubscriptions) s.dispose();
    this.#outlierSubscriptions = NO_SUBSCRIPTIONS;
    this.#outlier?.close();
    this.#outlier = undefined;
  }
}
