import { describe, expect, it } from 'vitest';
import type { FilterOverride, HttpFault } from '@meshlet/xds-client';
import { FaultInjector, ActiveFaults } from '../../src/fault/FaultInjector.js';
import { FaultConfigResolver } from '../../src/fault/FaultConfigResolver.js';
import { headers, seededRandom } from '../call/fixtures.js';

const H = headers();
const pct = (numerator: number, denominator: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION' = 'HUNDRED') => ({ numerator, denominator });

function rate(inj: FaultInjector, n: number, pick: (d: ReturnType<FaultInjector['evaluate']>) => boolean, h = H, seed = 7): number {
  const random = seededRandom(seed);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const d = inj.evaluate(h, 'c', random);
    if (pick(d)) hits++;
    d?.release();
  }
  return hits / n;
}

describe('FaultInjector: fixed faults', () => {
  it('100% fixed delay and 100% abort both apply', () => {
    const inj = new FaultInjector({ headers: [], delay: { fixed_delay: 20, percentage: pct(100) }, abort: { http_status: 503, percentage: pct(100) } });
    const d = inj.evaluate(H, 'c', Math.random)!;
    expect(d.delayMs).toBe(20);
    expect(d.abortHttpStatus).toBe(503);
    expect(d.abortGrpcStatus).toBeUndefined();
    d.release();
  });

  it('0% never faults and allocates no decision', () => {
    const inj = new FaultInjector({ headers: [], abort: { http_status: 503, percentage: pct(0) } });
    expect(inj.evaluate(H, 'c', Math.random)).toBeUndefined();
  });

  it('grpc_status abort', () => {
    const inj = new FaultInjector({ headers: [], abort: { grpc_status: 14, percentage: pct(100) } });
    const d = inj.evaluate(H, 'c', Math.random)!;
    expect(d.abortGrpcStatus).toBe(14);
    expect(d.abortHttpStatus).toBeUndefined();
  });

  // 20k Bernoulli samples: standard error <= 0.0036, tolerance 0.02 (> 5 sigma).
  it.each([
    [pct(25), 0.25],
    [pct(1234, 'TEN_THOUSAND'), 0.1234],
    [pct(500_000, 'MILLION'), 0.5],
  ])('abort percentage %o fires at ~%f (20k samples, +-0.02)', (percentage, expected) => {
    const inj = new FaultInjector({ headers: [], abort: { http_status: 500, percentage } });
    expect(Math.abs(rate(inj, 20_000, (d) => d?.abortHttpStatus === 500) - expected)).toBeLessThan(0.02);
  });

  it('delay and abort percentages are drawn independently (30% x 60%)', () => {
    const inj = new FaultInjector({ headers: [], delay: { fixed_delay: 5, percentage: pct(30) }, abort: { http_status: 503, percentage: pct(60) } });
    const random = seededRandom(11);
    let delay = 0, abort = 0, both = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const d = inj.evaluate(H, 'c', random);
      if (d?.delayMs) delay++;
      if (d?.abortHttpStatus) abort++;
      if (d?.delayMs && d.abortHttpStatus) both++;
      d?.release();
    }
    expect(Math.abs(delay / N - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(abort / N - 0.6)).toBeLessThan(0.02);
    expect(Math.abs(both / N - 0.18)).toBeLessThan(0.02);
  });

  it('headers matchers must all match', () => {
    const inj = new FaultInjector({
      headers: [{ name: 'x-fault', exact_match: 'on', invert_match: false }],
      abort: { http_status: 503, percentage: pct(100) },
    });
    expect(inj.evaluate(headers({ 'x-fault': 'on' }), 'c', Math.random)).toBeDefined();
    expect(inj.evaluate(headers({ 'x-fault': 'off' }), 'c', Math.random)).toBeUndefined();
    expect(inj.evaluate(H, 'c', Math.random)).toBeUndefined();
  });

  it('upstream_cluster limits the fault to that cluster', () => {
    const inj = new FaultInjector({ headers: [], upstream_cluster: 'v2', abort: { http_status: 503, percentage: pct(100) } });
    expect(inj.evaluate(H, 'v2', Math.random)).toBeDefined();
    expect(inj.evaluate(H, 'v1', Math.random)).toBeUndefined();
  });

  it('max_active_faults caps concurrently faulted requests; release frees a slot once', () => {
    const inj = new FaultInjector({ headers: [], max_active_faults: 2, delay: { fixed_delay: 10, percentage: pct(100) } });
    const a = inj.evaluate(H, 'c', Math.random)!;
    const b = inj.evaluate(H, 'c', Math.random)!;
    expect(inj.evaluate(H, 'c', Math.random)).toBeUndefined();
    a.release();
    a.release();
    expect(inj.active.count).toBe(1);
    const c = inj.evaluate(H, 'c', Math.random);
    expect(c).toBeDefined();
    expect(inj.evaluate(H, 'c', Math.random)).toBeUndefined();
    b.release();
    c!.release();
    expect(inj.active.count).toBe(0);
  });
});

describe('FaultInjector: header-controlled faults', () => {
  const headerFault: HttpFault = {
    headers: [],
    delay: { header_delay: true, percentage: pct(100) },
    abort: { header_abort: true, percentage: pct(100) },
  };

  it('reads delay and HTTP/gRPC abort from x-envoy-fault-* headers', () => {
    const inj = new FaultInjector(headerFault);
    const d = inj.evaluate(headers({ 'x-envoy-fault-delay-request': '15', 'x-envoy-fault-abort-request': '429' }), 'c', Math.random)!;
    expect(d.delayMs).toBe(15);
    expect(d.abortHttpStatus).toBe(429);
    d.release();
    const g = inj.evaluate(headers({ 'x-envoy-fault-abort-grpc-request': '8' }), 'c', Math.random)!;
    expect(g.abortGrpcStatus).toBe(8);
    expect(g.delayMs).toBe(0);
  });

  it('no header, bad values or out-of-range HTTP statuses inject nothing', () => {
    const inj = new FaultInjector(headerFault);
    expect(inj.evaluate(H, 'c', Math.random)).toBeUndefined();
    expect(inj.evaluate(headers({ 'x-envoy-fault-delay-request': 'soon' }), 'c', Math.random)).toBeUndefined();
    expect(inj.evaluate(headers({ 'x-envoy-fault-abort-request': '100' }), 'c', Math.random)).toBeUndefined();
    expect(inj.evaluate(headers({ 'x-envoy-fault-abort-request': '600' }), 'c', Math.random)).toBeUndefined();
  });

  it('headers are ignored unless header_delay / header_abort are set', () => {
    const inj = new FaultInjector({ headers: [], abort: { http_status: 503, percentage: pct(0) } });
    expect(inj.evaluate(headers({ 'x-envoy-fault-abort-request': '500' }), 'c', Math.random)).toBeUndefined();
  });

  it('-percentage headers set the numerator, capped by the configured one (20k samples, +-0.02)', () => {
    const inj = new FaultInjector({ headers: [], abort: { header_abort: true, percentage: pct(50) } });
    const h20 = headers({ 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-request-percentage': '20' });
    expect(Math.abs(rate(inj, 20_000, (d) => d !== undefined, h20) - 0.2)).toBeLessThan(0.02);
    const h90 = headers({ 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-request-percentage': '90' });
    expect(Math.abs(rate(inj, 20_000, (d) => d !== undefined, h90) - 0.5)).toBeLessThan(0.02);
    const delay = new FaultInjector({ headers: [], delay: { header_delay: true, percentage: pct(100) } });
    const d10 = headers({ 'x-envoy-fault-delay-request': '5', 'x-envoy-fault-delay-request-percentage': '10' });
    expect(Math.abs(rate(delay, 20_000, (d) => d?.delayMs === 5, d10) - 0.1)).toBeLessThan(0.02);
  });
});

describe('FaultConfigResolver', () => {
  const hcm: HttpFault = { headers: [], abort: { http_status: 500, percentage: pct(100) } };
  const routeFault: HttpFault = { headers: [], abort: { http_status: 418, percentage: pct(100) } };
  const clusterFault: HttpFault = { headers: [], abort: { http_status: 429, percentage: pct(100) } };
  const vhFault: HttpFault = { headers: [], abort: { http_status: 402, percentage: pct(100) } };
  const over = (fault: HttpFault): Record<string, FilterOverride> => ({ 'envoy.filters.http.fault': { kind: 'fault', fault } });
  const status = (inj: FaultInjector | undefined) => {
    const d = inj?.evaluate(H, 'c', Math.random);
    d?.release();
    return d?.abortHttpStatus;
  };

  it('weighted cluster > route > virtual host > HCM filter config', () => {
    const r = new FaultConfigResolver();
    const name = 'envoy.filters.http.fault';
    expect(status(r.resolve(hcm, name, undefined, undefined, undefined))).toBe(500);
    expect(status(r.resolve(hcm, name, undefined, undefined, over(vhFault)))).toBe(402);
    expect(status(r.resolve(hcm, name, undefined, over(routeFault), over(vhFault)))).toBe(418);
    expect(status(r.resolve(hcm, name, over(clusterFault), over(routeFault), over(vhFault)))).toBe(429);
    // Without a filter name, any fault-typed override is found.
    expect(status(r.resolve(hcm, undefined, undefined, over(routeFault), undefined))).toBe(418);
  });

  it('disabled override turns the filter off; no HCM filter means no fault at all', () => {
    const r = new FaultConfigResolver();
    expect(r.resolve(hcm, 'envoy.filters.http.fault', undefined, { 'envoy.filters.http.fault': { kind: 'disabled' } }, undefined)).toBeUndefined();
    expect(r.resolve(undefined, 'envoy.filters.http.fault', undefined, over(routeFault), undefined)).toBeUndefined();
  });

  it('compiles each config once and shares the active-faults counter with the HCM filter', () => {
    const r = new FaultConfigResolver();
    const a = r.resolve(hcm, undefined, undefined, over(routeFault), undefined);
    const b = r.resolve(hcm, undefined, undefined, over(routeFault), undefined);
    const c = r.resolve(hcm, undefined, undefined, undefined, undefined);
    expect(a).toBe(b);
    expect(a!.active).toBe(c!.active);
    expect(a!.active).toBeInstanceOf(ActiveFaults);
  });
});
