import type { HttpFault } from '@meshlet/xds-client';
import type { HeaderLookup, Random } from '../call/HeaderLookup.js';
import { HeaderMatcherSet } from '../call/HeaderMatcherSet.js';
import { denominatorOf, evaluateFraction } from './FractionalPercent.js';

/** The request headers that drive header_delay / header_abort (Envoy fault filter, gRFC A33). */
export const FaultHeaders = {
  DELAY: 'x-envoy-fault-delay-request',
  DELAY_PERCENTAGE: 'x-envoy-fault-delay-request-percentage',
  ABORT: 'x-envoy-fault-abort-request',
  ABORT_GRPC: 'x-envoy-fault-abort-grpc-request',
  ABORT_PERCENTAGE: 'x-envoy-fault-abort-request-percentage',
} as const;

/** What the fault filter decided for one request. */
export interface FaultDecision {
  /** ms to wait before forwarding (0 = no delay). Counts against the route timeout. */
  readonly delayMs: number;
  /** HTTP status of an injected abort (absent when the abort is gRPC-only or none). */
  readonly abortHttpStatus: number | undefined;
  /** grpc-status of an injected abort. */
  readonly abortGrpcStatus: number | undefined;
  /** Call exactly once when the request ends: releases the max_active_faults slot. */
  release(): void;
}

/**
 * Process-wide count of requests currently carrying a fault, per HCM fault filter
 * (Envoy's `active_faults` gauge, checked against max_active_faults).
 */
export class ActiveFaults {
  count = 0;
}

const UNLIMITED = Number.POSITIVE_INFINITY;

/**
 * One envoy.extensions.filters.http.fault.v3.HTTPFault compiled once per push: the HCM's
 * filter config, or a per-route / virtual host / weighted cluster typed_per_filter_config
 * override (which replaces it wholesale for that route, as Envoy's
 * mostSpecificPerFilterConfig does).
 */
export class FaultInjector {
  private readonly headerMatchers: HeaderMatcherSet;
  private readonly upstreamCluster: string | undefined;
  private readonly maxActive: number;

  private readonly delayEnabled: boolean;
  private readonly delayFromHeader: boolean;
  private readonly fixedDelayMs: number;
  private readonly delayNumerator: number;
  private readonly delayDenominator: number;

  private readonly abortEnabled: boolean;
  private readonly abortFromHeader: boolean;
  private readonly abortHttp: number | undefined;
  private readonly abortGrpc: number | undefined;
  private readonly abortNumerator: number;
  private readonly abortDenominator: number;

  constructor(
    fault: HttpFault,
    /** Shared by the HCM filter and all its per-route overrides. */
    readonly active: ActiveFaults = new ActiveFaults(),
  ) {
    this.headerMatchers = HeaderMatcherSet.compile(fault.headers);
    // An empty upstream_cluster means "any cluster".
    this.upstreamCluster = fault.upstream_cluster ? fault.upstream_cluster : undefined;
    this.maxActive = fault.max_active_faults ?? UNLIMITED;

    const d = fault.delay;
    this.delayEnabled = d !== undefined && (d.header_delay === true || d.fixed_delay !== undefined);
    this.delayFromHeader = d?.header_delay === true;
    this.fixedDelayMs = d?.fixed_delay ?? 0;
    this.delayNumerator = d?.percentage.numerator ?? 0;
    this.delayDenominator = d ? denominatorOf(d.percentage) : 100;

    const a = fault.abort;
    this.abortEnabled = a !== undefined && (a.header_abort === true || a.http_status !== undefined || a.grpc_status !== undefined);
    this.abortFromHeader = a?.header_abort === true;
    this.abortHttp = a?.http_status;
    this.abortGrpc = a?.grpc_status;
    this.abortNumerator = a?.percentage.numerator ?? 0;
    this.abortDenominator = a ? denominatorOf(a.percentage) : 100;
  }

  /**
   * Envoy FaultFilter::decodeHeaders: check upstream_cluster and headers, then the delay,
   * then the abort, each with its own percentage draw. Returns undefined (allocating
   * nothing) when no fault applies.
   * @param cluster the cluster the route picked (upstream_cluster is compared against it).
   */
  evaluate(headers: HeaderLookup, cluster: string, random: Random): FaultDecision | undefined {
    if (this.upstreamCluster !== undefined && this.upstreamCluster !== cluster) return undefined;
    if (!this.headerMatchers.matchesAll(headers)) return undefined;

    let delayMs = 0;
    if (this.delayEnabled) {
      const ms = this.delayFromHeader ? headerInt(headers.get(FaultHeaders.DELAY)) : this.fixedDelayMs;
      if (ms !== undefined && ms > 0) {
        const num = this.delayFromHeader ? this.headerNumerator(headers, FaultHeaders.DELAY_PERCENTAGE, this.delayNumerator) : this.delayNumerator;
        if (evaluateFraction(num, this.delayDenominator, random)) delayMs = ms;
      }
    }

    let abortHttp: number | undefined;
    let abortGrpc: number | undefined;
    if (this.abortEnabled) {
      if (this.abortFromHeader) {
        const http = headerInt(headers.get(FaultHeaders.ABORT));
        // Envoy only honours header HTTP statuses in [200, 600).
        abortHttp = http !== undefined && http >= 200 && http < 600 ? http : undefined;
        abortGrpc = headerInt(headers.get(FaultHeaders.ABORT_GRPC));
      } else {
        abortHttp = this.abortHttp;
        abortGrpc = this.abortGrpc;
      }
      if (abortHttp !== undefined || abortGrpc !== undefined) {
        const num = this.abortFromHeader ? this.headerNumerator(headers, FaultHeaders.ABORT_PERCENTAGE, this.abortNumerator) : this.abortNumerator;
        if (!evaluateFraction(num, this.abortDenominator, random)) abortHttp = abortGrpc = undefined;
      }
    }

    if (delayMs === 0 && abortHttp === undefined && abortGrpc === undefined) return undefined;
    // max_active_faults: one slot per faulted request, however many faults it carries.
    if (this.active.count >= this.maxActive) return undefined;
    this.active.count++;
    return new Decision(delayMs, abortHttp, abortGrpc, this.active);
  }

  /**
   * Envoy HeaderPercentageProvider: the header's integer is the numerator over the
   * configured denominator, capped at the configured numerator; unparsable = configured.
   */
  private headerNumerator(headers: HeaderLookup, name: string, configured: number): number {
    const n = headerInt(headers.get(name));
    return n === undefined ? configured : Math.min(n, configured);
  }
}

class Decision implements FaultDecision {
  private released = false;
  constructor(
    readonly delayMs: number,
    readonly abortHttpStatus: number | undefined,
    readonly abortGrpcStatus: number | undefined,
    private readonly active: ActiveFaults,
  ) {}
  release(): void {
    if (this.released) return;
    this.released = true;
    this.active.count--;
  }
}

function headerInt(raw: string | null | undefined): number | undefined {
  if (raw == null) return undefined;
  const s = raw.trim();
  if (!/^\d+$/.test(s)) return undefined;
  return Number(s);
}
