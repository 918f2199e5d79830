import type { Cluster, ClusterLoadAssignment, HealthStatus, LbEndpoint, LocalityLbEndpoints } from '@meshlet/xds-client';
import type { Timers } from '../../src/cluster/index.js';

/** mulberry32: small seeded PRNG so statistical tests are deterministic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fake clock + timers: `advance(ms)` fires due timeouts in time order. */
export class FakeTime implements Timers {
  #now = 0;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  readonly clock = { now: () => this.#now };

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId: number | undefined;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) if (t.at <= end && t.at < nextAt) [nextId, nextAt] = [id, t.at];
      if (nextId === undefined) break;
      const t = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#now = t.at;
      t.fn();
    }
    this.#now = end;
  }
}

export function endpoint(address: string, port = 80, opts: { weight?: number; health?: HealthStatus; hashKey?: string } = {}): LbEndpoint {
  return {
    address: { address, port_value: port },
    additional_addresses: [],
    health_status: opts.health ?? 'HEALTHY',
    load_balancing_weight: opts.weight ?? 1,
    metadata: opts.hashKey ? { 'envoy.lb': { hash_key: opts.hashKey } } : undefined,
  };
}

export function locality(endpoints: LbEndpoint[], opts: { priority?: number; weight?: number; zone?: string } = {}): LocalityLbEndpoints {
  return {
    locality: { region: 'r', zone: opts.zone ?? 'z', sub_zone: '' },
    lb_endpoints: endpoints,
    load_balancing_weight: opts.weight,
    priority: opts.priority ?? 0,
  };
}

export function cla(localities: LocalityLbEndpoints[], overprovisioning_factor?: number): ClusterLoadAssignment {
  return { cluster_name: 'c', endpoints: localities, policy: { overprovisioning_factor, drop_overloads: [] } };
}

export function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: 'outbound|80||svc.ns.svc.cluster.local',
    type: 'EDS',
    lb_policy: { policy: 'ROUND_ROBIN' },
    transport_socket_matches: [],
    protocol: 'HTTP1',
    ...overrides,
  };
}

/** `n` healthy endpoints 10.0.0.1..n:80. */
export function endpoints(n: number, opts: { weight?: (i: number) => number; health?: (i: number) => HealthStatus } = {}): LbEndpoint[] {
  return Array.from({ length: n }, (_, i) => endpoint(`10.0.0.${i + 1}`, 80, { weight: opts.weight?.(i), health: opts.health?.(i) }));
}

/** Counts picks per host key. */
export function tally(n: number, pick: () => { key: string } | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = pick()?.key ?? 'none';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
