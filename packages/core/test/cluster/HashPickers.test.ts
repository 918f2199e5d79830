import { describe, expect, it } from 'vitest';
import { ClusterRuntime, Host, MaglevPicker, RingHashPicker, initHashing, xxHash64, type PickContext } from '../../src/cluster/index.js';
import { cla, cluster, endpoint, endpoints, locality, seededRandom, tally } from './support.js';

// The lead awaits this once at Mesh start; tests build hash inputs at collection time, so await it up front.
await initHashing();

function hosts(n: number, weight: (i: number) => number = () => 1): Host[] {
  return Array.from({ length: n }, (_, i) => {
    const h = new Host(`10.0.${i >> 8}.${i & 255}`, 8080);
    h.update(endpoint(h.address, 8080, { weight: weight(i) }), { region: '', zone: '', sub_zone: '' }, 0);
    return h;
  });
}

/** Deterministic well-spread request hashes. */
const requestHashes = (n: number) => Array.from({ length: n }, (_, i) => xxHash64(`request-${i}`));

describe('xxHash64', () => {
  it('matches the reference value for the empty string (seed 0)', () => {
    expect(xxHash64('')).toBe(0xef46db3751d8e999n);
  });
});

describe.each([
  // Envoy's ring keeps ~minimum_ring_size entries in total, so when a host leaves every survivor gains
  // entries (103 -> 114 each for 10 -> 9 hosts), which moves ~10% of keys between survivors too.
  { name: 'RingHashPicker', make: (hs: Host[]) => new RingHashPicker(hs, { minimum_ring_size: 1024 }), tolerance: 0.25, maxOtherMoves: 0.15 },
  { name: 'MaglevPicker', make: (hs: Host[]) => new MaglevPicker(hs), tolerance: 0.05, maxOtherMoves: 0.03 },
])('$name', ({ make, tolerance, maxOtherMoves }) => {
  const hashes = requestHashes(20_000);

  it('is sticky: the same hash always picks the same host', () => {
    const picker = make(hosts(5));
    for (const hash of hashes.slice(0, 200)) {
      const ctx: PickContext = { hash, random: Math.random };
      expect(picker.pick(ctx, 0)).toBe(picker.pick(ctx, 0));
    }
  });

  it('is independent of host order (built from hash keys)', () => {
    const hs = hosts(5);
    const a = make(hs);
    const b = make([...hs].reverse());
    for (const hash of hashes.slice(0, 500)) expect(a.pick({ hash, random: Math.random }, 0)).toBe(b.pick({ hash, random: Math.random }, 0));
  });

  it(`spreads equal-weight hosts evenly (each within ±${tolerance * 100}% of its share)`, () => {
    const picker = make(hosts(5));
    let i = 0;
    const counts = tally(hashes.length, () => picker.pick({ hash: hashes[i++]!, random: Math.random }, 0));
    for (const c of counts.values()) expect(Math.abs(c / hashes.length - 0.2)).toBeLessThan(0.2 * tolerance);
  });

  it('follows weights (1:3)', () => {
    const hs = hosts(2, (i) => (i === 0 ? 1 : 3));
    const picker = make(hs);
    let i = 0;
    const counts = tally(hashes.length, () => picker.pick({ hash: hashes[i++]!, random: Math.random }, 0));
    expect(Math.abs(counts.get(hs[1]!.key)! / hashes.length - 0.75)).toBeLessThan(0.75 * tolerance * 0.5);
  });

  it('limited disruption: removing 1 of 10 hosts moves its keys and few others (modulo hashing would move ~90%)', () => {
    const hs = hosts(10);
    const before = make(hs);
    const after = make(hs.filter((_, i) => i !== 3));
    let moved = 0;
    let movedOthers = 0;
    for (const hash of hashes) {
      const a = before.pick({ hash, random: Math.random }, 0)!;
      const b = after.pick({ hash, random: Math.random }, 0)!;
      if (a !== b) {
        moved++;
        if (a !== hs[3]) movedOthers++;
      }
    }
    // About 1/10 of keys belonged to the removed host and all of those move.
    expect(moved - movedOthers).toBeGreaterThan(0.07 * hashes.length);
    expect(movedOthers / hashes.length).toBeLessThan(maxOtherMoves);
  });

  it('a request without a hash gets a random one', () => {
    const picker = make(hosts(5));
    const ctx: PickContext = { random: seededRandom(4) };
    expect(tally(500, () => picker.pick(ctx, 0)).size).toBe(5);
  });

  it('re-selection (attempt > 0) moves to another host for most hashes', () => {
    const picker = make(hosts(5));
    let different = 0;
    for (const hash of hashes.slice(0, 1000)) if (picker.pick({ hash, random: Math.random }, 0) !== picker.pick({ hash, random: Math.random }, 1)) different++;
    expect(different).toBeGreaterThan(700);
  });

  it('no hosts: undefined', () => {
    expect(make([]).pick({ hash: 1n, random: Math.random }, 0)).toBeUndefined();
  });
});

describe('RingHashPicker ring sizing', () => {
  it.each([
    // Scaled so the lightest host gets a whole number of entries: ceil(1024 / 3) × 3.
    { n: 3, min: 1024, max: 8 * 1024 * 1024, size: 1026 },
    { n: 3, min: 10, max: 8 * 1024 * 1024, size: 12 },
    { n: 4, min: 1024, max: 8 * 1024 * 1024, size: 1024 },
    { n: 2000, min: 1024, max: 8 * 1024 * 1024, size: 2000 },
    { n: 3, min: 1024, max: 512, size: 512 },
  ])('$n hosts, minimum $min, maximum $max -> $size entries', ({ n, min, max, size }) => {
    expect(new RingHashPicker(hosts(n), { minimum_ring_size: min, maximum_ring_size: max }).size).toBe(size);
  });

  it('uses envoy.lb hash_key metadata instead of the address', () => {
    const a = new Host('10.0.0.1', 80);
    a.update(endpoint('10.0.0.1', 80, { hashKey: 'pod-a' }), { region: '', zone: '', sub_zone: '' }, 0);
    const b = new Host('10.9.9.9', 81);
    b.update(endpoint('10.9.9.9', 81, { hashKey: 'pod-a' }), { region: '', zone: '', sub_zone: '' }, 0);
    // Same hash key -> same ring positions -> the same hashes land on the equivalent host.
    const ra = new RingHashPicker([a, hosts(1)[0]!]);
    const rb = new RingHashPicker([b, hosts(1)[0]!]);
    for (const hash of requestHashes(200)) {
      expect(ra.pick({ hash, random: Math.random }, 0) === a).toBe(rb.pick({ hash, random: Math.random }, 0) === b);
    }
  });
});

describe('MaglevPicker table', () => {
  it('fills every slot of a prime table, in proportion to weight', () => {
    const hs = hosts(3, (i) => i + 1);
    const picker = new MaglevPicker(hs, 10007);
    expect(picker.table).toHaveLength(10007);
    const counts = new Map<Host, number>();
    for (const h of picker.table) counts.set(h, (counts.get(h) ?? 0) + 1);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(10007);
    for (const [h, c] of counts) expect(Math.abs(c / 10007 - h.weight / 6)).toBeLessThan(0.01);
  });

  it('a non-prime table_size falls back to 65537', () => {
    expect(new MaglevPicker(hosts(2), 1000).table).toHaveLength(65537);
  });
});

describe('ClusterRuntime with hash policies', () => {
  it.each([
    { lb_policy: { policy: 'RING_HASH' as const, minimum_ring_size: 1024, maximum_ring_size: 8_388_608, hash_function: 'XX_HASH' as const }, maxOtherMoves: 0.15 },
    { lb_policy: { policy: 'MAGLEV' as const, table_size: 65537 }, maxOtherMoves: 0.03 },
  ])(
    '$lb_policy.policy: same hash -> same host; ejection moves the ejected host’s keys and few others',
    ({ lb_policy, maxOtherMoves }) => {
      const rt = new ClusterRuntime(cluster({ lb_policy, outlier_detection: {} }), { random: seededRandom(1), timers: { setTimeout: () => 0, clearTimeout: () => {} } });
      rt.updateEndpoints(cla([locality(endpoints(10))]));
      const hashes = requestHashes(2000);
      const first = hashes.map((hash) => rt.pick({ hash, random: Math.random })!);
      expect(hashes.map((hash) => rt.pick({ hash, random: Math.random }))).toEqual(first);
      const victim = rt.hosts()[4]!;
      for (let i = 0; i < 5; i++) rt.reportResult(victim, { kind: 'http', status: 500 });
      const after = hashes.map((hash) => rt.pick({ hash, random: Math.random })!);
      expect(after).not.toContain(victim);
      const movedOthers = after.filter((h, i) => h !== first[i] && first[i] !== victim).length;
      expect(movedOthers / hashes.length).toBeLessThan(maxOtherMoves);
      rt.close();
    },
  );
});
