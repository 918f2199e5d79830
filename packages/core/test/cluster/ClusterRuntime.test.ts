import type { HealthStatus } from '@meshlet/xds-client';
import { describe, expect, it } from 'vitest';
import { ClusterRuntime, type Host, type PickContext } from '../../src/cluster/index.js';
import { FakeTime, cla, cluster, endpoint, endpoints, locality, seededRandom, tally } from './support.js';

const N = 20_000;

function runtime(overrides: Parameters<typeof cluster>[0] = {}, seed = 1) {
  const time = new FakeTime();
  const rt = new ClusterRuntime(cluster(overrides), { clock: time.clock, timers: time, random: seededRandom(seed) });
  return { rt, time };
}

const share = (counts: Map<string, number>, keys: (k: string) => boolean) => {
  let n = 0;
  for (const [k, v] of counts) if (keys(k)) n += v;
  return n / N;
};

describe('ClusterRuntime: health_status filtering', () => {
  it.each<[HealthStatus, boolean]>([
    ['HEALTHY', true],
    ['UNKNOWN', true],
    ['UNHEALTHY', false],
    ['DRAINING', false],
    ['TIMEOUT', false],
  ])('%s endpoint picked: %s', (status, picked) => {
    const { rt } = runtime({ healthy_panic_threshold: 0 });
    rt.updateEndpoints(cla([locality([endpoint('10.0.0.1', 80, { health: status }), ...endpoints(0)])]));
    expect(rt.pick({ random: Math.random }) !== undefined).toBe(picked);
  });

  it('only healthy hosts are picked while above the panic threshold', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(4, { health: (i) => (i === 0 ? 'UNHEALTHY' : 'HEALTHY') }))]));
    const counts = tally(300, () => rt.pick({ random: Math.random }));
    expect(counts.has('10.0.0.1:80')).toBe(false);
    expect(counts.size).toBe(3);
  });

  it('degraded hosts are used only when healthy capacity is short', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(10, { health: (i) => (i < 5 ? 'HEALTHY' : 'DEGRADED') }))]));
    const ctx: PickContext = { random: seededRandom(5) };
    const counts = tally(N, () => rt.pick(ctx));
    const degraded = share(counts, (k) => Number(k.split('.')[3]!.split(':')[0]) > 5);
    expect(Math.abs(degraded - 0.3)).toBeLessThan(0.02); // 70% healthy, 30% degraded, ±2 pts
  });
});

describe('ClusterRuntime: priorities', () => {
  it('P0 with 50% healthy at overprovisioning 140 gets 70% of load (±2 pts over 20k picks)', () => {
    const { rt } = runtime();
    rt.updateEndpoints(
      cla([
        locality(endpoints(4, { health: (i) => (i < 2 ? 'HEALTHY' : 'UNHEALTHY') }), { priority: 0 }),
        locality([endpoint('10.1.0.1'), endpoint('10.1.0.2')], { priority: 1 }),
      ]),
    );
    const ctx: PickContext = { random: seededRandom(9) };
    const counts = tally(N, () => rt.pick(ctx));
    expect(Math.abs(share(counts, (k) => k.startsWith('10.0.')) - 0.7)).toBeLessThan(0.02);
    expect(rt.prioritySet.load.healthy).toEqual([70, 30]);
  });

  it('honours overprovisioning_factor from the CLA policy', () => {
    const { rt } = runtime();
    rt.updateEndpoints(
      cla([locality(endpoints(4, { health: (i) => (i < 2 ? 'HEALTHY' : 'UNHEALTHY') })), locality([endpoint('10.1.0.1')], { priority: 1 })], 100),
    );
    expect(rt.prioritySet.load.healthy).toEqual([50, 50]);
  });

  it('panic: below 50% healthy in the only priority, balances across all hosts', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(4, { health: (i) => (i === 0 ? 'HEALTHY' : 'UNHEALTHY') }))]));
    const counts = tally(4000, () => rt.pick({ random: Math.random }));
    expect([...counts.values()]).toEqual([1000, 1000, 1000, 1000]);
  });

  it('healthy_panic_threshold 0 disables panic: no healthy host means undefined (UH)', () => {
    const { rt } = runtime({ healthy_panic_threshold: 0 });
    rt.updateEndpoints(cla([locality(endpoints(3, { health: () => 'UNHEALTHY' }))]));
    expect(rt.pick({ random: Math.random })).toBeUndefined();
  });

  it('a priority that takes all the load is picked without a priority draw; a split load draws once per pick', () => {
    let draws = 0;
    const counting: PickContext = { random: () => (draws++, 0.5) };
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(3)), locality([endpoint('10.1.0.1')], { priority: 1 })]));
    expect(rt.prioritySet.load.healthy).toEqual([100, 0]);
    rt.pick(counting); // builds the set
    draws = 0;
    for (let i = 0; i < 10; i++) expect(rt.pick(counting)!.address.startsWith('10.0.')).toBe(true);
    expect(draws).toBe(0); // ROUND_ROBIN over equal weights draws nothing per pick

    rt.updateEndpoints(
      cla([locality(endpoints(4, { health: (i) => (i < 2 ? 'HEALTHY' : 'UNHEALTHY') })), locality([endpoint('10.1.0.1')], { priority: 1 })]),
    );
    rt.pick(counting);
    draws = 0;
    for (let i = 0; i < 10; i++) rt.pick(counting);
    expect(draws).toBe(10);
  });

  it('excludedPriorities (retry_priority previous_priorities): the excluded share goes to the other priorities; all excluded is ignored', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(3)), locality([endpoint('10.1.0.1'), endpoint('10.1.0.2')], { priority: 1 }), locality([endpoint('10.2.0.1')], { priority: 2 })]));
    expect(rt.prioritySet.load.healthy).toEqual([100, 0, 0]);
    const random = seededRandom(7);
    const level = (excluded: number[]) => tally(600, () => rt.pick({ random, excludedPriorities: new Set(excluded) })).keys();
    const prefixes = (keys: Iterable<string>) => new Set([...keys].map((k) => k.split('.').slice(0, 2).join('.')));
    // P0 left out: P1 takes it all (100% healthy there), P2 nothing.
    expect(prefixes(level([0]))).toEqual(new Set(['10.1']));
    // P0 and P1 left out: P2, a level the cluster's own load never built a picker for.
    expect(prefixes(level([0, 1]))).toEqual(new Set(['10.2']));
    // Every level left out: nothing would be left, so the exclusion is ignored (the cluster's own load).
    expect(prefixes(level([0, 1, 2]))).toEqual(new Set(['10.0']));
    // Without it, the cluster's own load.
    expect(prefixes(tally(100, () => rt.pick({ random })).keys())).toEqual(new Set(['10.0']));
  });

  it('no endpoints: pick returns undefined', () => {
    const { rt } = runtime();
    expect(rt.pick({ random: Math.random })).toBeUndefined();
    rt.updateEndpoints(cla([]));
    expect(rt.pick({ random: Math.random })).toBeUndefined();
  });
});

describe('ClusterRuntime: locality weighted LB', () => {
  it('splits load by locality load_balancing_weight (1:3, ±2 pts)', () => {
    const { rt } = runtime({ locality_weighted_lb: true });
    rt.updateEndpoints(
      cla([
        locality([endpoint('10.0.0.1'), endpoint('10.0.0.2'), endpoint('10.0.0.3')], { weight: 1, zone: 'a' }),
        locality([endpoint('10.1.0.1')], { weight: 3, zone: 'b' }),
      ]),
    );
    const counts = tally(N, () => rt.pick({ random: Math.random }));
    expect(Math.abs(share(counts, (k) => k.startsWith('10.1.')) - 0.75)).toBeLessThan(0.02);
  });

  it('scales a locality by its health (weight × min(1, 1.4 × healthy ratio))', () => {
    const { rt } = runtime({ locality_weighted_lb: true });
    rt.updateEndpoints(
      cla([
        locality(endpoints(10, { health: (i) => (i < 5 ? 'HEALTHY' : 'UNHEALTHY') }), { weight: 1, zone: 'a' }),
        locality([endpoint('10.1.0.1')], { weight: 1, zone: 'b' }),
      ]),
    );
    // Effective weights 0.7 and 1 -> zone a gets 0.7 / 1.7.
    const counts = tally(N, () => rt.pick({ random: Math.random }));
    expect(Math.abs(share(counts, (k) => k.startsWith('10.0.')) - 0.7 / 1.7)).toBeLessThan(0.02);
  });

  it('without locality_weighted_lb, localities are ignored', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality([endpoint('10.0.0.1'), endpoint('10.0.0.2'), endpoint('10.0.0.3')], { weight: 1 }), locality([endpoint('10.1.0.1')], { weight: 3 })]));
    const counts = tally(N, () => rt.pick({ random: Math.random }));
    expect(share(counts, (k) => k.startsWith('10.1.'))).toBe(0.25);
  });
});

describe('ClusterRuntime: state across updates', () => {
  it('keeps Host objects and their state for surviving address:port, drops removed ones', () => {
    const { rt } = runtime({ outlier_detection: { always_eject_one_host: true } });
    rt.updateEndpoints(cla([locality(endpoints(3))]));
    const [a, b] = rt.hosts() as Host[];
    a!.activeRequests = 7;
    for (let i = 0; i < 5; i++) rt.reportResult(b!, { kind: 'http', status: 503 });
    expect(b!.isEjected(0)).toBe(true);
    rt.updateEndpoints(cla([locality([endpoint('10.0.0.1', 80, { weight: 5 }), endpoint('10.0.0.2'), endpoint('10.0.0.9')])]));
    const after = rt.hosts();
    expect(after[0]).toBe(a);
    expect(a!.activeRequests).toBe(7);
    expect(a!.weight).toBe(5);
    expect(after[1]).toBe(b);
    expect(b!.isEjected(0)).toBe(true);
    expect(after.map((h) => h.key)).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.9:80']);
  });

  it('uses the cluster inline load_assignment', () => {
    const { rt } = runtime({ type: 'STATIC', load_assignment: cla([locality(endpoints(2))]) });
    expect(rt.hosts()).toHaveLength(2);
    expect(rt.pick({ random: Math.random })).toBeDefined();
  });

  it('updateCluster switches LB policy and breaker limits, keeping hosts and breaker counts', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(3))]));
    const hosts = rt.hosts();
    rt.breakers.tryAcquireRequest();
    rt.updateCluster(cluster({ lb_policy: { policy: 'PICK_FIRST' }, circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_requests: 1 }], per_host_thresholds: [] } }));
    expect(rt.hosts()).toBe(hosts);
    expect(rt.breakers.tryAcquireRequest()).toBe(false);
    expect(new Set(Array.from({ length: 10 }, () => rt.pick({ random: Math.random })!.key))).toEqual(new Set(['10.0.0.1:80']));
  });

  it('makes the HIGH priority breaker on first use with the cluster\'s thresholds then, and reconfigures it after', () => {
    const high = (maxRequests: number) => ({ circuit_breakers: { thresholds: [{ priority: 'HIGH' as const, max_requests: maxRequests }], per_host_thresholds: [] } });
    const { rt } = runtime(high(5));
    rt.updateCluster(cluster(high(1)));
    const breaker = rt.breakersHigh;
    expect(rt.breakersHigh).toBe(breaker);
    expect(breaker.tryAcquireRequest()).toBe(true);
    expect(breaker.tryAcquireRequest()).toBe(false);
    // A later update applies to the same breaker, keeping its count (1 of 2).
    rt.updateCluster(cluster(high(2)));
    expect(rt.breakersHigh).toBe(breaker);
    expect(breaker.tryAcquireRequest()).toBe(true);
    expect(breaker.tryAcquireRequest()).toBe(false);
    // DEFAULT's breaker is its own.
    expect(rt.breakers.tryAcquireRequest()).toBe(true);
  });

  it('overflowStats sums both priorities, as Envoy\'s cluster-wide upstream_rq_*_overflow counters do', () => {
    const { rt } = runtime({ circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_requests: 0 }, { priority: 'HIGH', max_requests: 0 }], per_host_thresholds: [] } });
    expect(rt.overflowStats()).toEqual({ cx_overflow: 0, rq_pending_overflow: 0, rq_overflow: 0, rq_retry_overflow: 0 });
    rt.breakersFor(undefined).tryAcquireRequest();
    rt.breakersFor('HIGH').tryAcquireRequest();
    rt.breakersFor('HIGH').tryAcquireRequest();
    expect(rt.overflowStats()).toEqual({ cx_overflow: 0, rq_pending_overflow: 0, rq_overflow: 3, rq_retry_overflow: 0 });
  });
});

describe('ClusterRuntime: outlier ejection and picking', () => {
  it('skips ejected hosts and takes them back after the ejection', () => {
    const { rt, time } = runtime({ outlier_detection: { always_eject_one_host: true } });
    rt.updateEndpoints(cla([locality(endpoints(4))]));
    const bad = rt.hosts()[2]!;
    for (let i = 0; i < 5; i++) rt.reportResult(bad, { kind: 'http', status: 500 });
    const during = tally(400, () => rt.pick({ random: Math.random }));
    expect(during.has(bad.key)).toBe(false);
    time.advance(30_000);
    const after = tally(400, () => rt.pick({ random: Math.random }));
    expect(after.get(bad.key)).toBe(100);
  });

  it('when ejections leave too few healthy hosts, panics and uses all hosts (Envoy panic)', () => {
    const { rt } = runtime({ outlier_detection: { max_ejection_percent: 100 } });
    rt.updateEndpoints(cla([locality(endpoints(2))]));
    for (const h of rt.hosts()) for (let i = 0; i < 5; i++) rt.reportResult(h, { kind: 'http', status: 500 });
    expect(rt.hosts().every((h) => h.isEjected(0))).toBe(true);
    expect(rt.pick({ random: Math.random })).toBeDefined();
  });

  it('close() clears the outlier timer', () => {
    const { rt, time } = runtime({ outlier_detection: {} });
    expect(time.pending).toBe(1);
    rt.close();
    expect(time.pending).toBe(0);
  });

  it('removing outlier_detection returns ejected hosts', () => {
    const { rt } = runtime({ outlier_detection: { always_eject_one_host: true } });
    rt.updateEndpoints(cla([locality(endpoints(3))]));
    const h = rt.hosts()[0]!;
    for (let i = 0; i < 5; i++) rt.reportResult(h, { kind: 'http', status: 500 });
    rt.updateCluster(cluster());
    expect(h.isEjected(0)).toBe(false);
    expect(rt.outlier).toBeUndefined();
  });
});

describe('ClusterRuntime: host selection retries (previous_hosts)', () => {
  it('re-picks to avoid previous hosts (default one re-selection)', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(2))]));
    const [a] = rt.hosts();
    for (let i = 0; i < 20; i++) expect(rt.pick({ random: Math.random, avoid: new Set([a!]) })).not.toBe(a);
  });

  it('uses an avoided host when it is the only one', () => {
    const { rt } = runtime();
    rt.updateEndpoints(cla([locality(endpoints(1))]));
    const [a] = rt.hosts();
    expect(rt.pick({ random: Math.random, avoid: new Set([a!]), maxSelectionAttempts: 3 })).toBe(a);
  });

  it('maxSelectionAttempts bounds the re-selections (random LB over 3 hosts, avoiding 2)', () => {
    const { rt } = runtime({ lb_policy: { policy: 'RANDOM' } });
    rt.updateEndpoints(cla([locality(endpoints(3))]));
    const [a, b, c] = rt.hosts();
    const avoid = new Set([a!, b!]);
    const ctx1: PickContext = { random: seededRandom(3), avoid, maxSelectionAttempts: 0 };
    const ctx5: PickContext = { random: seededRandom(3), avoid, maxSelectionAttempts: 5 };
    const once = tally(3000, () => rt.pick(ctx1));
    const many = tally(3000, () => rt.pick(ctx5));
    // P(c) = 1/3 with no re-selection; 1 - (2/3)^6 ≈ 0.91 with 5. Tolerance ±4 pts.
    expect(Math.abs(once.get(c!.key)! / 3000 - 1 / 3)).toBeLessThan(0.04);
    expect(Math.abs(many.get(c!.key)! / 3000 - (1 - (2 / 3) ** 6))).toBeLessThan(0.04);
  });
});
