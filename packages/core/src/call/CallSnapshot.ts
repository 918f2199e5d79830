import type { HttpFault, RouteAction } from '@meshlet/xds-client';
import type { RouteTable } from '../routing/index.js';
import type { CircuitBreaker } from '../cluster/CircuitBreaker.js';
import type { Host } from '../cluster/Host.js';
import type { PickContext } from '../cluster/PickContext.js';
import type { AttemptResult } from '../cluster/AttemptResult.js';

/** What the call engine needs of a cluster (ClusterRuntime satisfies it). */
export interface CallCluster {
  pick(ctx: PickContext): Host | undefined;
  /** The circuit breakers of a route's RouteAction.priority (absent = DEFAULT). */
  breakersFor(priority: RouteAction['priority']): CircuitBreaker;
  reportResult(host: Host, result: AttemptResult): void;
}

/**
 * What a resolved target gives one call (the Mesh's TargetSnapshot satisfies it).
 * Everything here is immutable for the life of the call (gRFC A74: no config tears).
 */
export interface CallSnapshot {
  /** The target as the caller named it (listener `host:port`), for errors. */
  readonly target: string;
  readonly routeTable: RouteTable;
  cluster(name: string): CallCluster | undefined;
  /** The HCM's envoy.filters.http.fault config, if the filter is in the chain. */
  readonly fault?: HttpFault | undefined;
  /** The HCM fault filter's name, the key of its typed_per_filter_config overrides. */
  readonly faultFilterName?: string | undefined;
  /** HCM max_stream_duration (ms), gRFC A31. */
  readonly maxStreamDuration?: number | undefined;
  /** HCM generate_request_id; absent means true (Envoy's default). */
  readonly generateRequestId?: boolean | undefined;
}
