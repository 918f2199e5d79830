import type { OutlierDetection } from '@meshlet/xds-client';
import { describe, expect, it } from 'vitest';
import { Host, OutlierDetector, type EjectionEvent } from '../../src/cluster/index.js';
import { FakeTime, seededRandom } from './support.js';

function setup(config: OutlierDetection, n = 10, random: () => number = seededRandom(1)) {
  const time = new FakeTime();
  const hosts = Array.from({ length: n }, (_, i) => new Host(`10.0.0.${i + 1}`, 80));
  const detector = new OutlierDetector(config, () => hosts, { clock: time.clock, timers: time, random });
  const ejections: EjectionEvent[] = [];
  const returns: Host[] = [];
  detector.onEject((e) => ejections.push(e));
  detector.onUneject((h) => returns.push(h));
  return { time, hosts, detector, ejections, returns };
}

const fail = (d: OutlierDetector, h: Host, n: number, status = 500) => {
  for (let i = 0; i < n; i++) d.putResult(h, { kind: 'http', status });
};

describe('OutlierDetector: consecutive errors', () => {
  it('ejects on the 5th consecutive 5xx (default consecutive_5xx 5, enforcing 100)', () => {
    const { detector, hosts, ejections } = setup({});
    fail(detector, hosts[0]!, 4);
    expect(hosts[0]!.isEjected(0)).toBe(false);
    fail(detector, hosts[0]!, 1);
    expect(hosts[0]!.isEjected(0)).toBe(true);
    expect(ejections).toEqual([{ host: hosts[0], reason: 'consecutive_5xx' }]);
  });

  it('a success resets the consecutive count', () => {
    const { detector, hosts } = setup({});
    fail(detector, hosts[0]!, 4);
    detector.putResult(hosts[0]!, { kind: 'http', status: 200 });
    fail(detector, hosts[0]!, 4);
    expect(hosts[0]!.isEjected(0)).toBe(false);
  });

  it('maps gRPC codes like Envoy: UNAVAILABLE counts as 5xx, NOT_FOUND does not', () => {
    const { detector, hosts } = setup({});
    for (let i = 0; i < 4; i++) detector.putResult(hosts[0]!, { kind: 'grpc', code: 14 });
    detector.putResult(hosts[0]!, { kind: 'grpc', code: 5 });
    for (let i = 0; i < 4; i++) detector.putResult(hosts[0]!, { kind: 'grpc', code: 14 });
    expect(hosts[0]!.isEjected(0)).toBe(false);
    detector.putResult(hosts[0]!, { kind: 'grpc', code: 13 });
    expect(hosts[0]!.isEjected(0)).toBe(true);
  });

  it('consecutive_gateway_failure is not enforced by default (enforcing 0), but is when configured', () => {
    const a = setup({ consecutive_5xx: 100 });
    fail(a.detector, a.hosts[0]!, 10, 503);
    expect(a.hosts[0]!.isEjected(0)).toBe(false);
    const b = setup({ consecutive_5xx: 100, consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100 });
    fail(b.detector, b.hosts[0]!, 2, 502);
    fail(b.detector, b.hosts[0]!, 1, 500); // non-gateway 5xx resets the gateway streak
    fail(b.detector, b.hosts[0]!, 2, 504);
    expect(b.hosts[0]!.isEjected(0)).toBe(false);
    fail(b.detector, b.hosts[0]!, 1, 503);
    expect(b.ejections).toEqual([{ host: b.hosts[0], reason: 'consecutive_gateway_failure' }]);
  });

  it('local-origin failures count as 5xx unless split_external_local_origin_errors', () => {
    const a = setup({});
    for (let i = 0; i < 5; i++) a.detector.putResult(a.hosts[0]!, { kind: 'local-origin-failure' });
    expect(a.ejections.map((e) => e.reason)).toEqual(['consecutive_5xx']);

    const b = setup({ split_external_local_origin_errors: true, consecutive_local_origin_failure: 3 });
    for (let i = 0; i < 2; i++) b.detector.putResult(b.hosts[0]!, { kind: 'local-origin-failure' });
    b.detector.putResult(b.hosts[0]!, { kind: 'local-origin-success' });
    for (let i = 0; i < 2; i++) b.detector.putResult(b.hosts[0]!, { kind: 'local-origin-failure' });
    fail(b.detector, b.hosts[0]!, 4); // external 5xx do not feed the local streak
    expect(b.hosts[0]!.isEjected(0)).toBe(false);
    b.detector.putResult(b.hosts[0]!, { kind: 'local-origin-failure' });
    expect(b.ejections.map((e) => e.reason)).toEqual(['consecutive_local_origin_failure']);
  });

  it('enforcing_consecutive_5xx is a percentage roll', () => {
    const { detector, hosts } = setup({ enforcing_consecutive_5xx: 0 });
    fail(detector, hosts[0]!, 50);
    expect(hosts[0]!.isEjected(0)).toBe(false);
  });
});

describe('OutlierDetector: max_ejection_percent', () => {
  it('default 10% of 10 hosts allows one ejection', () => {
    const { detector, hosts } = setup({});
    fail(detector, hosts[0]!, 5);
    fail(detector, hosts[1]!, 5);
    expect(hosts.filter((h) => h.isEjected(0))).toEqual([hosts[0]]);
    expect(detector.ejectedCount()).toBe(1);
  });

  // Envoy's DetectorImpl::ejectHost: the percentage counts the ejection being decided, (active + 1) / hosts;
  // only always_eject_one_host (default false) lets a first ejection past it.
  it('ejects nothing when one host is more than the percentage (3 hosts, 10%: 33% > 10%)', () => {
    const { detector, hosts, ejections } = setup({ max_ejection_percent: 10 }, 3);
    fail(detector, hosts[0]!, 5);
    expect(detector.ejectedCount()).toBe(0);
    expect(ejections).toEqual([]);
    const single = setup({}, 1);
    fail(single.detector, single.hosts[0]!, 5);
    expect(single.detector.ejectedCount()).toBe(0);
  });

  it('always_eject_one_host: the first ejection passes the cap, the next does not', () => {
    const { detector, hosts } = setup({ max_ejection_percent: 10, always_eject_one_host: true }, 3);
    fail(detector, hosts[0]!, 5);
    fail(detector, hosts[1]!, 5);
    expect(hosts.filter((h) => h.isEjected(0))).toEqual([hosts[0]]);
    const single = setup({ always_eject_one_host: true }, 1);
    fail(single.detector, single.hosts[0]!, 5);
    expect(single.detector.ejectedCount()).toBe(1);
  });

  it('the cap is checked before the enforcing_* roll, as in Envoy (an overflow draws no random number)', () => {
    const draws: number[] = [];
    const random = () => {
      draws.push(0);
      return 0;
    };
    const { detector, hosts } = setup({ max_ejection_percent: 10 }, 3, random);
    fail(detector, hosts[0]!, 5);
    expect(draws).toEqual([]);
  });

  it('50% of 4 hosts allows two ejections', () => {
    const { detector, hosts } = setup({ max_ejection_percent: 50 }, 4);
    for (const h of hosts) fail(detector, h, 5);
    expect(detector.ejectedCount()).toBe(2);
  });
});

describe('OutlierDetector: ejection time and backoff', () => {
  it('draws max_ejection_time_jitter from [0, jitter] inclusive (Envoy: random % (jitter + 1))', () => {
    const high = setup({ max_ejection_time_jitter: 1000, interval: 500 }, 10, () => 0.99999);
    fail(high.detector, high.hosts[0]!, 5);
    expect(high.hosts[0]!.outlier.ejectionJitter).toBe(1000);
    high.time.advance(30_500); // 30 s + 500 ms: still inside the 1 s of jitter
    expect(high.hosts[0]!.isEjected(high.time.clock.now())).toBe(true);
    high.time.advance(500); // 31 s: base_ejection_time + the whole jitter
    expect(high.hosts[0]!.isEjected(high.time.clock.now())).toBe(false);
    const low = setup({ max_ejection_time_jitter: 1000 }, 10, () => 0);
    fail(low.detector, low.hosts[0]!, 5);
    expect(low.hosts[0]!.outlier.ejectionJitter).toBe(0);
  });

  it('returns a host at the first interval sweep after base_ejection_time, and counts ejections as a multiplier', () => {
    const { detector, hosts, time, returns } = setup({});
    const h = hosts[0]!;
    fail(detector, h, 5); // ejected at t=0 (backoff 1 -> 30 s)
    time.advance(29_999);
    expect(h.isEjected(time.clock.now())).toBe(true);
    time.advance(1); // t=30 s: sweep at 30 s returns it
    expect(h.isEjected(time.clock.now())).toBe(false);
    expect(returns).toEqual([h]);

    fail(detector, h, 5); // second ejection at t=30 s: backoff 2 -> 60 s
    time.advance(50_000); // t=80 s
    expect(h.isEjected(0)).toBe(true);
    time.advance(10_000); // sweep at t=90 s
    expect(h.isEjected(0)).toBe(false);
    expect(h.outlier.totalEjections).toBe(2);
  });

  it('caps the ejection time at max_ejection_time', () => {
    const { detector, hosts, time } = setup({ base_ejection_time: 30_000, max_ejection_time: 40_000, interval: 1_000 });
    const h = hosts[0]!;
    for (let k = 0; k < 4; k++) {
      fail(detector, h, 5);
      while (h.isEjected(0)) time.advance(1_000);
    }
    const start = time.clock.now();
    fail(detector, h, 5);
    while (h.isEjected(0)) time.advance(1_000);
    expect(time.clock.now() - start).toBe(40_000);
  });

  it('lowers the multiplier for each interval the host stays healthy', () => {
    const { detector, hosts, time } = setup({});
    const h = hosts[0]!;
    fail(detector, h, 5);
    time.advance(30_000);
    fail(detector, h, 5);
    time.advance(60_000);
    expect(h.isEjected(0)).toBe(false);
    expect(h.outlier.ejectionBackoff).toBe(2);
    time.advance(20_000); // two healthy sweeps
    expect(h.outlier.ejectionBackoff).toBe(0);
    fail(detector, h, 5); // next ejection is back at base time
    time.advance(30_000);
    expect(h.isEjected(0)).toBe(false);
  });

  it('timers are released on close', () => {
    const { detector, time } = setup({});
    expect(time.pending).toBe(1);
    detector.close();
    expect(time.pending).toBe(0);
  });

  it('disposing a listener stops its events', () => {
    const { detector, hosts } = setup({});
    const seen: Host[] = [];
    const sub = detector.onEject((e) => seen.push(e.host));
    sub.dispose();
    fail(detector, hosts[0]!, 5);
    expect(seen).toEqual([]);
  });
});

describe('OutlierDetector: success rate', () => {
  it('ejects a host whose success rate is below mean - 1.9 stdev (defaults: 5 hosts, 100 requests)', () => {
    const { detector, hosts, time, ejections } = setup({ max_ejection_percent: 100, consecutive_5xx: 1000 });
    for (let i = 0; i < 10; i++) {
      const h = hosts[i]!;
      for (let r = 0; r < 100; r++) detector.putResult(h, { kind: 'http', status: i === 3 && r % 2 === 0 ? 500 : 200 });
    }
    time.advance(10_000); // sweep swaps buckets; detection runs on the interval that just ended
    expect(ejections).toEqual([{ host: hosts[3], reason: 'success_rate' }]);
  });

  it('needs success_rate_minimum_hosts hosts with success_rate_request_volume requests', () => {
    const { detector, hosts, time, ejections } = setup({ max_ejection_percent: 100, consecutive_5xx: 1000 });
    for (let i = 0; i < 10; i++) {
      // Only 4 hosts reach the 100-request volume.
      const volume = i < 4 ? 100 : 99;
      for (let r = 0; r < volume; r++) detector.putResult(hosts[i]!, { kind: 'http', status: i === 0 && r % 2 === 0 ? 500 : 200 });
    }
    time.advance(10_000);
    expect(ejections).toEqual([]);
  });
});

describe('OutlierDetector: failure percentage', () => {
  const run = (config: OutlierDetection) => {
    const s = setup({ max_ejection_percent: 100, consecutive_5xx: 1000, enforcing_success_rate: 0, ...config });
    s.hosts.forEach((h, i) => {
      for (let r = 0; r < 50; r++) s.detector.putResult(h, { kind: 'http', status: i === 0 && r < 45 ? 503 : 200 });
    });
    s.time.advance(10_000);
    return s;
  };

  it('is not enforced by default (enforcing_failure_percentage 0)', () => {
    expect(run({}).ejections).toEqual([]);
  });

  it('ejects hosts whose failure percentage is >= failure_percentage_threshold (85) when enforced', () => {
    const { ejections, hosts } = run({ enforcing_failure_percentage: 100 });
    expect(ejections).toEqual([{ host: hosts[0], reason: 'failure_percentage' }]);
  });

  it('respects a higher threshold', () => {
    expect(run({ enforcing_failure_percentage: 100, failure_percentage_threshold: 95 }).ejections).toEqual([]);
  });

  it('a sweep ejects before it lowers the backoff, so a rate ejection after a healthy interval still doubles the time', () => {
    // Envoy's onIntervalTimer lowers the backoff of hosts not ejected only after the success-rate
    // and failure-percentage passes: a host ejected in that sweep keeps its backoff and gains one.
    const s = setup({ max_ejection_percent: 100, consecutive_5xx: 1000, enforcing_success_rate: 0, enforcing_failure_percentage: 100 });
    const load = (failFirst: boolean) =>
      s.hosts.forEach((h, i) => {
        if (i === 0 && !failFirst) return;
        for (let r = 0; r < 50; r++) s.detector.putResult(h, { kind: 'http', status: i === 0 ? 503 : 200 });
      });
    const h = s.hosts[0]!;
    load(true);
    s.time.advance(10_000); // t=10 s: ejected, backoff 1
    expect(h.outlier.ejectionBackoff).toBe(1);
    s.time.advance(30_000); // t=40 s: returned after 30 s
    expect(h.isEjected(s.time.clock.now())).toBe(false);
    load(true);
    s.time.advance(10_000); // t=50 s: healthy for a whole interval, but ejected again in this sweep
    expect(h.isEjected(s.time.clock.now())).toBe(true);
    expect(h.outlier.ejectionBackoff).toBe(2);
    s.time.advance(50_000); // t=100 s: 60 s not yet over
    expect(h.isEjected(s.time.clock.now())).toBe(true);
    load(false);
    s.time.advance(10_000); // t=110 s
    expect(h.isEjected(s.time.clock.now())).toBe(false);
  });
});
