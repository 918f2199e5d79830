import type { HttpConnectionManager, HttpFault, Listener, RouteConfiguration } from '@meshlet/xds-client';
import type { RouteTable } from '../routing/index.js';
import type { ClusterRuntime } from '../cluster/index.js';

/**
 * Everything one request to one target needs, resolved LDS -> RDS -> CDS -> EDS
 * and frozen: a request reads one snapshot from start to end, so a config push
 * mid-request never mixes old routes with new clusters (gRFC A74).
 */
export interface TargetSnapshot {
  /** The listener name, `host:port` as istiod names outbound listeners. */
  readonly target: string;
  /** Monotonic per Mesh; bumps on every swap. */
  readonly version: number;
  readonly listener: Listener;
  readonly httpConnectionManager: HttpConnectionManager;
  readonly routeConfig: RouteConfiguration;
  /** Compiled once per RouteConfiguration push. */
  readonly routeTable: RouteTable;
  /** The HCM's envoy.filters.http.fault filter config, if any. */
  readonly fault: HttpFault | undefined;
  /** That filter's name: the key of its typed_per_filter_config overrides. */
  readonly faultFilterName: string | undefined;
  /** HCM max_stream_duration (ms), gRFC A31. */
  readonly maxStreamDuration: number | undefined;
  /** HCM generate_request_id (true when unset): send a generated x-request-id on a request without one. */
  readonly generateRequestId: boolean;
  /** Runtimes of every cluster the routes name; a name absent here was not found (NC). */
  cluster(name: string): ClusterRuntime | undefined;
  readonly clusterNames: readonly string[];
}

/** Why a target has no snapshot. */
export type TargetState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'ready'; readonly snapshot: TargetSnapshot }
  | { readonly kind: 'missing'; readonly reason: string };
