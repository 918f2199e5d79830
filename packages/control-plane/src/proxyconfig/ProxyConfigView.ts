/**
 * What `meshlet proxy-config` shows for one target: the chain a Meshlet process resolves
 * (LDS -> RDS -> CDS -> EDS), flattened into plain JSON. `--json` prints exactly this;
 * the text form renders it as istioctl proxy-config does (a tree for routes, tables for
 * clusters and endpoints). Durations are milliseconds, as in the resource model.
 */
export interface ProxyConfigView {
  readonly target: string;
  /** Where the config came from, e.g. `xDS server 127.0.0.1:15010 as node sidecar~...`. */
  readonly source: string;
  readonly listener: ListenerView;
  readonly route_config: RouteConfigView;
  readonly clusters: readonly ClusterView[];
  readonly endpoints: readonly EndpointView[];
}

export interface ListenerView {
  readonly name: string;
  /** The route configuration's name, fetched over RDS or inline in the listener. */
  readonly route_config_name: string;
  readonly rds: boolean;
  readonly http_filters: readonly string[];
  readonly max_stream_duration_ms?: number;
}

export interface RouteConfigView {
  readonly name: string;
  readonly virtual_hosts: readonly VirtualHostView[];
}

export interface VirtualHostView {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly RouteView[];
}

export interface RouteView {
  readonly name?: string;
  /** Human form of the match, e.g. `prefix=/ header end-user=jason`. */
  readonly match: string;
  readonly action: RouteActionView;
  /** Route timeout in ms; 0 = disabled; absent for non-forwarding routes. Envoy's default is 15 s. */
  readonly timeout_ms?: number;
  readonly timeout_is_default?: boolean;
  /** The effective retry policy (the route's, else the virtual host's); absent = no retries. */
  readonly retry?: RetryView;
  /** Route-level fault override, described. */
  readonly fault?: string;
  /** Path / host rewrites, described. */
  readonly rewrite?: string;
  /** RouteAction.priority when HIGH: HTTP requests use the cluster's HIGH circuit-breaker thresholds. */
  readonly priority?: 'HIGH';
}

export type RouteActionView =
  | { readonly kind: 'cluster'; readonly cluster: string }
  | { readonly kind: 'weighted_clusters'; readonly clusters: readonly { readonly name: string; readonly weight: number; readonly percent: number }[] }
  | { readonly kind: 'cluster_header'; readonly header: string }
  | { readonly kind: 'redirect'; readonly to: string }
  | { readonly kind: 'direct_response'; readonly status: number }
  | { readonly kind: 'non_forwarding' }
  | { readonly kind: 'unsupported'; readonly detail: string };

export interface RetryView {
  readonly retry_on: readonly string[];
  /** Envoy default 1. */
  readonly num_retries: number;
  readonly per_try_timeout_ms?: number;
  readonly retriable_status_codes?: readonly number[];
  /** Short names, e.g. `previous_hosts` (Istio's default). */
  readonly host_predicates?: readonly string[];
  readonly inherited_from_virtual_host?: boolean;
}

export interface ClusterView {
  readonly name: string;
  /** False when the route names a cluster the server did not send (Envoy NC). */
  readonly found: boolean;
  readonly type?: string;
  readonly eds_service_name?: string;
  /** e.g. `ROUND_ROBIN`, `LEAST_REQUEST(choice_count=2)`. */
  readonly lb_policy?: string;
  readonly connect_timeout_ms?: number;
  readonly protocol?: string;
  /** Effective DEFAULT-priority thresholds, Envoy's defaults filled in. */
  readonly circuit_breakers?: { readonly max_connections: number; readonly max_pending_requests: number; readonly max_requests: number; readonly max_retries: number };
  /** Effective settings (Envoy defaults filled in), absent when the cluster has none. */
  readonly outlier_detection?: OutlierView;
  /** `mTLS (SAN spiffe://...)`, `TLS`, or absent for plaintext. */
  readonly tls?: string;
}

export interface OutlierView {
  readonly consecutive_5xx: number;
  readonly consecutive_gateway_failure: number;
  readonly interval_ms: number;
  readonly base_ejection_time_ms: number;
  readonly max_ejection_time_ms: number;
  readonly max_ejection_percent: number;
  /** The first ejection may exceed max_ejection_percent (Envoy default false). */
  readonly always_eject_one_host: boolean;
}

export interface EndpointView {
  readonly cluster: string;
  readonly address: string;
  /** EDS health_status (UNKNOWN counts as healthy, as in Envoy). */
  readonly health: string;
  /** Ejected right now by outlier detection. */
  readonly ejected: boolean;
  readonly weight: number;
  /** `region/zone/sub_zone`, empty parts kept so columns line up. */
  readonly locality: string;
  readonly priority: number;
}
