import type { OutlierDetection } from '@meshlet/xds-client';
import type { AttemptResult } from './AttemptResult.js';
import { systemClock, systemTimers, type Clock, type TimerHandle, type Timers } from './Clock.js';
import type { Disposable } from './Disposable.js';
import { grpcToHttpStatus } from './GrpcToHttpStatus.js';
import type { Host } from './Host.js';
import { resolveOutlierDetection, type OutlierDetectionSettings } from './OutlierDetectionSettings.js';

export type EjectionReason =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'local_origin_failure_percentage';

export interface EjectionEvent {
  readonly host: Host;
  readonly reason: EjectionReason;
}

export interface OutlierDetectorOptions {
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Uniform [0, 1): enforcement rolls (enforcing_* percentages) and ejection jitter. */
  readonly random?: () => number;
}

type Origin = 'external' | 'local';

/**
 * Envoy's outlier detection for one cluster (arch overview "Outlier detection").
 *
 * - Consecutive errors (5xx, gateway failures 502/503/504, local-origin failures
 *   when split_external_local_origin_errors) eject as soon as the count reaches
 *   its threshold, subject to the enforcing_* roll and max_ejection_percent.
 * - Every `interval` a sweep returns hosts whose ejection has lasted
 *   min(base_ejection_time × backoff, max_ejection_time) + jitter, runs success-rate
 *   and failure-percentage detection over the requests of the interval just ended,
 *   then lowers the backoff of hosts (still in service) healthy for a full interval.
 * - max_ejection_percent caps concurrent ejections, counting the one being decided;
 *   with always_eject_one_host the first ejection may exceed it.
 *
 * State lives on each Host (`host.outlier`), so it survives endpoint updates.
 */
export class OutlierDetector {
  #settings: OutlierDetectionSettings;
  readonly #hosts: () => readonly Host[];
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #ejectListeners = new Set<(event: EjectionEvent) => void>();
  readonly #unejectListeners = new Set<(host: Host) => void>();
  #timer: TimerHandle | undefined;
  #closed = false;

  /** @param hosts the cluster's current hosts (read at each decision, so removed hosts drop out). */
  constructor(config: OutlierDetection, hosts: () => readonly Host[], options: OutlierDetectorOptions = {}) {
    this.#settings = resolveOutlierDetection(config);
    this.#hosts = hosts;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#arm();
  }

  get settings(): OutlierDetectionSettings {
    return this.#settings;
  }

  /** CDS push: new thresholds apply from now on; ejections and history are kept. */
  updateConfig(config: OutlierDetection): void {
    const previousInterval = this.#settings.interval;
    this.#settings = resolveOutlierDetection(config);
    if (this.#settings.interval !== previousInterval) this.#arm();
  }

  onEject(listener: (event: EjectionEvent) => void): Disposable {
    this.#ejectListeners.add(listener);
    return { dispose: () => this.#ejectListeners.delete(listener) };
  }

  onUneject(listener: (host: Host) => void): Disposable {
    this.#unejectListeners.add(listener);
    return { dispose: () => this.#unejectListeners.delete(listener) };
  }

  ejectedCount(): number {
    let n = 0;
    for (const h of this.#hosts()) if (h.outlier.ejected) n++;
    return n;
  }

  putResult(host: Host, result: AttemptResult): void {
    const s = this.#settings;
    const o = host.outlier;
    switch (result.kind) {
      case 'http':
        this.#putHttpStatus(host, result.status);
        return;
      case 'grpc':
        this.#putHttpStatus(host, grpcToHttpStatus(result.code));
        return;
      case 'local-origin-failure':
        if (!s.split_external_local_origin_errors) {
          // Not split: a connect failure / reset / timeout counts as an upstream 503 (Envoy maps it so).
          this.#putHttpStatus(host, 503);
          return;
        }
        o.localTotal++;
        if (++o.consecutiveLocalOriginFailure === s.consecutive_local_origin_failure) {
          o.consecutiveLocalOriginFailure = 0;
          this.#onConsecutive(host, 'consecutive_local_origin_failure', s.enforcing_consecutive_local_origin_failure);
        }
        return;
      case 'local-origin-success':
        // Not split: connection success says nothing; the response status that follows is what counts.
        if (!s.split_external_local_origin_errors) return;
        o.localTotal++;
        o.localSuccess++;
        o.consecutiveLocalOriginFailure = 0;
        return;
    }
  }

  /** Stops the interval sweeps and drops listeners. Ejections stay as they are. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ejectListeners.clear();
    this.#unejectListeners.clear();
  }

  /** Returns every ejected host to service (used when outlier_detection is removed from the cluster). */
  unejectAll(): void {
    const now = this.#clock.now();
    for (const h of this.#hosts()) if (h.outlier.ejected) this.#uneject(h, now);
  }

  /** @internal One interval sweep; timer-driven, exposed for tests. */
  sweep(): void {
    const s = this.#settings;
    const now = this.#clock.now();
    for (const host of this.#hosts()) {
      const o = host.outlier;
      if (o.ejected) {
        const ejectedFor = Math.min(s.base_ejection_time * o.ejectionBackoff, s.max_ejection_time) + o.ejectionJitter;
        if (o.lastEjectionTime + ejectedFor <= now) this.#uneject(host, now);
      }
      o.swapBuckets();
    }
    this.#detectByRate('external');
    if (s.split_external_local_origin_errors) this.#detectByRate('local');
    // A host that stayed in service for a whole interval earns back one step of backoff. As in
    // Envoy's onIntervalTimer this comes after the rate passes, so a host they eject in this
    // sweep keeps its backoff (and gains one) instead of losing one first.
    for (const host of this.#hosts()) {
      const o = host.outlier;
      if (!o.ejected && o.ejectionBackoff > 0 && o.lastUnejectionTime !== undefined && now - o.lastUnejectionTime >= s.interval) {
        o.ejectionBackoff--;
      }
    }
  }

  #arm(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.sweep();
      this.#arm();
    }, this.#settings.interval);
  }

  #putHttpStatus(host: Host, status: number): void {
    const s = this.#settings;
    const o = host.outlier;
    o.externalTotal++;
    if (status < 500 || status > 599) {
      o.externalSuccess++;
      o.consecutive5xx = 0;
      o.consecutiveGatewayFailure = 0;
      return;
    }
    if (status === 502 || status === 503 || status === 504) {
      if (++o.consecutiveGatewayFailure === s.consecutive_gateway_failure) {
        o.consecutiveGatewayFailure = 0;
        this.#onConsecutive(host, 'consecutive_gateway_failure', s.enforcing_consecutive_gateway_failure);
      }
    } else {
      o.consecutiveGatewayFailure = 0;
    }
    // Evaluated with "==" as Envoy does; the counter restarts after each ejection attempt.
    if (++o.consecutive5xx === s.consecutive_5xx) {
      o.consecutive5xx = 0;
      this.#onConsecutive(host, 'consecutive_5xx', s.enforcing_consecutive_5xx);
    }
  }

  #onConsecutive(host: Host, reason: EjectionReason, enforcing: number): void {
    if (host.outlier.ejected) return;
    this.#eject(host, reason, enforcing);
  }

  #detectByRate(origin: Origin): void {
    const s = this.#settings;
    const hosts = this.#hosts();
    if (hosts.length < s.success_rate_minimum_hosts && hosts.length < s.failure_percentage_minimum_hosts) return;
    const srHosts: Host[] = [];
    const srRates: number[] = [];
    const fpHosts: Host[] = [];
    const fpRates: number[] = [];
    let sum = 0;
    for (const host of hosts) {
      const o = host.outlier;
      if (o.ejected) continue;
      const total = origin === 'external' ? o.lastExternalTotal : o.lastLocalTotal;
      if (total === 0) continue;
      const rate = (100 * (origin === 'external' ? o.lastExternalSuccess : o.lastLocalSuccess)) / total;
      if (total >= s.success_rate_request_volume) {
        srHosts.push(host);
        srRates.push(rate);
        sum += rate;
      }
      if (total >= s.failure_percentage_request_volume) {
        fpHosts.push(host);
        fpRates.push(rate);
      }
    }
    if (srHosts.length > 0 && srHosts.length >= s.success_rate_minimum_hosts) {
      const mean = sum / srHosts.length;
      let variance = 0;
      for (const r of srRates) variance += (r - mean) * (r - mean);
      const stdev = Math.sqrt(variance / srHosts.length);
      const threshold = mean - (s.success_rate_stdev_factor / 1000) * stdev;
      const enforcing = origin === 'external' ? s.enforcing_success_rate : s.enforcing_local_origin_success_rate;
      for (let i = 0; i < srHosts.length; i++) {
        if (srRates[i]! < threshold) {
          this.#onConsecutive(srHosts[i]!, origin === 'external' ? 'success_rate' : 'local_origin_success_rate', enforcing);
        }
      }
    }
    if (fpHosts.length > 0 && fpHosts.length >= s.failure_percentage_minimum_hosts) {
      const enforcing = origin === 'external' ? s.enforcing_failure_percentage : s.enforcing_failure_percentage_local_origin;
      for (let i = 0; i < fpHosts.length; i++) {
        if (100 - fpRates[i]! >= s.failure_percentage_threshold) {
          this.#onConsecutive(fpHosts[i]!, origin === 'external' ? 'failure_percentage' : 'local_origin_failure_percentage', enforcing);
        }
      }
    }
  }

  #eject(host: Host, reason: EjectionReason, enforcing: number): void {
    const s = this.#settings;
    // Envoy's DetectorImpl::ejectHost: the cap counts the ejection being decided, so 10% of 3 hosts
    // (33% after it) ejects none; always_eject_one_host (default false) lets a first one through.
    // The cap comes before the enforcing roll there too.
    const active = this.ejectedCount();
    const percentAfter = (100 * (active + 1)) / Math.max(1, this.#hosts().length);
    if (!(percentAfter <= s.max_ejection_percent || (s.always_eject_one_host && active === 0))) return;
    // enforcing_* is the percent chance that a detected outlier is actually ejected.
    if (!(this.#random() * 100 < enforcing)) return;
    const o = host.outlier;
    o.ejected = true;
    o.lastEjectionTime = this.#clock.now();
    o.totalEjections++;
    // Grow the multiplier only while it can still matter under max_ejection_time.
    if (o.ejectionBackoff * s.base_ejection_time < s.max_ejection_time + s.base_ejection_time) o.ejectionBackoff++;
    // max_ejection_time_jitter is inclusive: Envoy draws random % (jitter + 1) ms.
    o.ejectionJitter = s.max_ejection_time_jitter > 0 ? Math.floor(this.#random() * (s.max_ejection_time_jitter + 1)) : 0;
    for (const listener of this.#ejectListeners) listener({ host, reason });
  }

  #uneject(host: Host, now: number): void {
    const o = host.outlier;
    o.ejected = false;
    o.lastUnejectionTime = now;
    o.resetConsecutive();
    for (const listener of this.#unejectListeners) listener(host);
  }
}
