/**
 * The immutable typed model of the four xDS resource types Meshlet consumes.
 *
 * Conventions (so every package reads config the same way):
 * - Field names are the envoy v3 proto field names (snake_case), so a model path
 *   reads like the proto and like Envoy's docs (`route.retry_policy.num_retries`).
 * - google.protobuf.Duration becomes a number of **milliseconds**; wrappers
 *   (UInt32Value, BoolValue, DoubleValue) become plain numbers/booleans; absent
 *   optional fields stay `undefined` and defaults are applied by the consumer
 *   that knows Envoy's default (named in a comment where it matters).
 * - enums are their proto names (`'ROUND_ROBIN'`).
 * - Typed extensions Meshlet understands are decoded into their own model;
 *   anything else is kept opaque as `OpaqueExtension` (type URL + bytes) so that
 *   Istio-private filters, Wasm and Lua do not break decoding.
 * - Every model object is immutable: consumers must never mutate one (models are shared by
 *   every watcher and kept for config dumps). Outside NODE_ENV=production they are deep-frozen
 *   after validation, so a mutation throws in development and tests (resources/DeepFreeze.ts).
 */

export interface OpaqueExtension {
  readonly kind: 'opaque';
  readonly type_url: string;
  /** For TypedStruct-wrapped configs, the inner type URL. */
  readonly inner_type_url?: string;
  readonly value: Uint8Array;
}

/** A typed_config as found on filters, transport sockets, LB policies... */
export interface TypedExtension<T = unknown> {
  readonly name: string;
  readonly type_url: string;
  /** The decoded config when Meshlet understands the type, else undefined. */
  readonly config?: T;
  readonly opaque?: OpaqueExtension;
  readonly is_optional?: boolean;
}

export type Metadata = Readonly<Record<string, Readonly<Record<string, unknown>>>>; // filter_metadata, Struct -> JSON

export interface FractionalPercent {
  readonly numerator: number;
  readonly denominator: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION';
}

export interface RegexMatcher {
  /** RE2 syntax; compiled with re2-wasm by core (validated here). */
  readonly regex: string;
}

export interface StringMatcher {
  readonly exact?: string;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly contains?: string;
  readonly safe_regex?: RegexMatcher;
  readonly ignore_case?: boolean;
}

// ---------------------------------------------------------------- Listener

export interface Listener {
  readonly name: string;
  readonly address?: SocketAddress;
  /** Present for client-side (proxyless) listeners: an HttpConnectionManager. */
  readonly api_listener?: HttpConnectionManager;
  readonly filter_chains: readonly FilterChain[];
  readonly default_filter_chain?: FilterChain;
}

export interface SocketAddress {
  readonly address: string;
  readonly port_value: number;
  readonly protocol?: 'TCP' | 'UDP';
}

export interface FilterChainMatch {
  readonly destination_port?: number;
  readonly prefix_ranges: readonly CidrRange[];
  readonly source_type?: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  readonly source_prefix_ranges: readonly CidrRange[];
  readonly source_ports: readonly number[];
  readonly server_names: readonly string[];
  readonly transport_protocol?: string;
  readonly application_protocols: readonly string[];
}

export interface CidrRange {
  readonly address_prefix: string;
  readonly prefix_len: number;
}

export interface FilterChain {
  readonly name?: string;
  readonly filter_chain_match?: FilterChainMatch;
  /** The HCM when the chain's terminal filter is envoy.filters.network.http_connection_manager. */
  readonly http_connection_manager?: HttpConnectionManager;
  /** All network filters, in order (the HCM too, as a TypedExtension). */
  readonly filters: readonly TypedExtension[];
  readonly transport_socket?: TransportSocket;
}

export interface HttpConnectionManager {
  readonly stat_prefix?: string;
  /** Exactly one of rds / route_config is set. */
  readonly rds?: { readonly route_config_name: string; readonly config_source_ads: boolean };
  readonly route_config?: RouteConfiguration;
  readonly http_filters: readonly HttpFilter[];
  /** HCM common_http_protocol_options.max_stream_duration (ms), gRFC A31. */
  readonly max_stream_duration?: number;
  /**
   * Whether an x-request-id is generated for a request that has none (BoolValue; absent = true, as in
   * Envoy). preserve_external_request_id is not read: it is about edge requests, and a client-side
   * mesh's requests come from its own process, whose x-request-id is always kept.
   */
  readonly generate_request_id?: boolean;
}

export type HttpFilterConfig =
  | { readonly kind: 'router' }
  | { readonly kind: 'fault'; readonly fault: HttpFault }
  | { readonly kind: 'rbac'; readonly rbac: RbacFilter }
  | { readonly kind: 'opaque'; readonly opaque: OpaqueExtension };

export interface HttpFilter {
  readonly name: string;
  readonly is_optional: boolean;
  readonly config: HttpFilterConfig;
}

/** envoy.extensions.filters.http.fault.v3.HTTPFault */
export interface HttpFault {
  readonly delay?: {
    /** fixed_delay, ms */
    readonly fixed_delay?: number;
    /** header_delay: delay read from x-envoy-fault-delay-request */
    readonly header_delay?: boolean;
    readonly percentage: FractionalPercent;
  };
  readonly abort?: {
    readonly http_status?: number;
    readonly grpc_status?: number;
    /** header_abort: status read from x-envoy-fault-abort-request / -grpc-request */
    readonly header_abort?: boolean;
    readonly percentage: FractionalPercent;
  };
  readonly upstream_cluster?: string;
  readonly headers: readonly HeaderMatcher[];
  readonly max_active_faults?: number;
}

/** envoy.extensions.filters.http.rbac.v3.RBAC (the parts gRFC A41 uses). */
export interface RbacFilter {
  /** undefined = no rules: allow everything. */
  readonly rules?: RbacRules;
  readonly shadow_rules?: RbacRules;
}
export interface RbacRules {
  readonly action: 'ALLOW' | 'DENY' | 'LOG';
  /** A request matches when any policy matches; Envoy evaluates them in lexical order of name (matters for logging only). */
  readonly policies: Readonly<Record<string, RbacPolicy>>;
}
export interface RbacPolicy {
  readonly permissions: readonly RbacPermission[];
  readonly principals: readonly RbacPrincipal[];
}
/** Kept in proto shape (snake_case oneof keys); core interprets it. */
export type RbacPermission = Readonly<Record<string, unknown>>;
export type RbacPrincipal = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------- RouteConfiguration

export interface RouteConfiguration {
  readonly name: string;
  readonly virtual_hosts: readonly VirtualHost[];
  readonly request_headers_to_add: readonly HeaderValueOption[];
  readonly request_headers_to_remove: readonly string[];
  readonly response_headers_to_add: readonly HeaderValueOption[];
  readonly response_headers_to_remove: readonly string[];
  readonly ignore_port_in_host_matching?: boolean;
  /** Envoy default false: header mutations apply most specific level first, so the outermost level wins an overwrite. */
  readonly most_specific_header_mutations_wins?: boolean;
}

export interface VirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
  readonly retry_policy?: RetryPolicy;
  readonly request_headers_to_add: readonly HeaderValueOption[];
  readonly request_headers_to_remove: readonly string[];
  readonly response_headers_to_add: readonly HeaderValueOption[];
  readonly response_headers_to_remove: readonly string[];
  readonly typed_per_filter_config: Readonly<Record<string, FilterOverride>>;
  readonly include_request_attempt_count?: boolean;
}

/** A per-route filter override (typed_per_filter_config). */
export type FilterOverride =
  | { readonly kind: 'fault'; readonly fault: HttpFault }
  | { readonly kind: 'rbac'; readonly rbac?: RbacFilter }
  | { readonly kind: 'disabled' }
  | { readonly kind: 'opaque'; readonly opaque: OpaqueExtension };

export interface HeaderValueOption {
  readonly header: { readonly key: string; readonly value: string };
  /** append_action; the deprecated `append` bool is mapped to it (true -> APPEND_IF_EXISTS_OR_ADD). */
  readonly append_action: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
  readonly keep_empty_value?: boolean;
}

export interface Route {
  readonly name?: string;
  readonly match: RouteMatch;
  /** Exactly one of route / redirect / direct_response / non_forwarding_action. */
  readonly route?: RouteAction;
  readonly redirect?: RedirectAction;
  readonly direct_response?: { readonly status: number; readonly body?: string };
  readonly non_forwarding_action?: true;
  readonly request_headers_to_add: readonly HeaderValueOption[];
  readonly request_headers_to_remove: readonly string[];
  readonly response_headers_to_add: readonly HeaderValueOption[];
  readonly response_headers_to_remove: readonly string[];
  readonly typed_per_filter_config: Readonly<Record<string, FilterOverride>>;
  readonly metadata?: Metadata;
  readonly decorator?: { readonly operation: string };
}

export interface RouteMatch {
  /** Exactly one path specifier. */
  readonly prefix?: string;
  readonly path?: string;
  readonly safe_regex?: RegexMatcher;
  readonly path_separated_prefix?: string;
  readonly connect_matcher?: true;
  /** Default true (envoy). */
  readonly case_sensitive: boolean;
  readonly runtime_fraction?: { readonly default_value: FractionalPercent; readonly runtime_key?: string };
  readonly headers: readonly HeaderMatcher[];
  readonly query_parameters: readonly QueryParameterMatcher[];
  /** match.grpc: only requests with content-type application/grpc*. */
  readonly grpc?: true;
}

export interface HeaderMatcher {
  readonly name: string;
  /** At most one; none means present_match semantics only when present_match set, else "header present". */
  readonly exact_match?: string;
  readonly safe_regex_match?: RegexMatcher;
  readonly range_match?: { readonly start: number; readonly end: number };
  readonly present_match?: boolean;
  readonly prefix_match?: string;
  readonly suffix_match?: string;
  readonly contains_match?: string;
  readonly string_match?: StringMatcher;
  readonly invert_match: boolean;
  readonly treat_missing_header_as_empty?: boolean;
}

export interface QueryParameterMatcher {
  readonly name: string;
  readonly string_match?: StringMatcher;
  readonly present_match?: boolean;
}

export interface RouteAction {
  /** Exactly one cluster specifier. */
  readonly cluster?: string;
  readonly cluster_header?: string;
  readonly weighted_clusters?: WeightedClusters;
  readonly cluster_specifier_plugin?: string;
  readonly cluster_not_found_response_code?: 'SERVICE_UNAVAILABLE' | 'NOT_FOUND' | 'INTERNAL_SERVER_ERROR';
  readonly prefix_rewrite?: string;
  readonly regex_rewrite?: { readonly pattern: RegexMatcher; readonly substitution: string };
  readonly host_rewrite_literal?: string;
  readonly auto_host_rewrite?: boolean;
  readonly host_rewrite_header?: string;
  /** ms; envoy default 15000 when absent; 0 disables. */
  readonly timeout?: number;
  /** ms */
  readonly idle_timeout?: number;
  readonly retry_policy?: RetryPolicy;
  readonly hash_policy: readonly HashPolicy[];
  readonly max_stream_duration?: {
    /** ms */ readonly max_stream_duration?: number;
    /** ms */ readonly grpc_timeout_header_max?: number;
    /** ms */ readonly grpc_timeout_header_offset?: number;
  };
  /** Deprecated but still sent by istiod: ms */
  readonly max_grpc_timeout?: number;
  readonly include_vh_rate_limits?: boolean;
  /** RoutingPriority: the cluster's circuit-breaker thresholds to use. Absent = DEFAULT (the decoder leaves DEFAULT out). */
  readonly priority?: 'HIGH';
}

export interface WeightedClusters {
  readonly clusters: readonly ClusterWeight[];
  /** Deprecated; when set the weights must sum to it. */
  readonly total_weight?: number;
  readonly runtime_key_prefix?: string;
}

export interface ClusterWeight {
  readonly name: string;
  readonly weight: number;
  readonly request_headers_to_add: readonly HeaderValueOption[];
  readonly request_headers_to_remove: readonly string[];
  readonly response_headers_to_add: readonly HeaderValueOption[];
  readonly response_headers_to_remove: readonly string[];
  readonly typed_per_filter_config: Readonly<Record<string, FilterOverride>>;
  readonly host_rewrite_literal?: string;
}

export interface RetryPolicy {
  /** Parsed from the comma-separated retry_on string, trimmed, in order. */
  readonly retry_on: readonly string[];
  /** envoy default 1 */
  readonly num_retries?: number;
  /** ms */
  readonly per_try_timeout?: number;
  /** ms */
  readonly per_try_idle_timeout?: number;
  readonly retriable_status_codes: readonly number[];
  readonly retriable_headers: readonly HeaderMatcher[];
  readonly retriable_request_headers: readonly HeaderMatcher[];
  /** ms; envoy defaults base 25, max 10x base */
  readonly retry_back_off?: { readonly base_interval: number; readonly max_interval?: number };
  readonly retry_host_predicate: readonly TypedExtension[];
  /** envoy default 1 */
  readonly host_selection_retry_max_attempts?: number;
  readonly retry_priority?: TypedExtension;
}

export interface HashPolicy {
  readonly header?: { readonly header_name: string; readonly regex_rewrite?: { readonly pattern: RegexMatcher; readonly substitution: string } };
  readonly cookie?: { readonly name: string; /** ms */ readonly ttl?: number; readonly path?: string };
  readonly connection_properties?: { readonly source_ip: boolean };
  readonly query_parameter?: { readonly name: string };
  readonly filter_state?: { readonly key: string };
  readonly terminal: boolean;
}

export interface RedirectAction {
  readonly https_redirect?: boolean;
  readonly scheme_redirect?: string;
  readonly host_redirect?: string;
  readonly port_redirect?: number;
  readonly path_redirect?: string;
  readonly prefix_rewrite?: string;
  readonly regex_rewrite?: { readonly pattern: RegexMatcher; readonly substitution: string };
  readonly response_code: 'MOVED_PERMANENTLY' | 'FOUND' | 'SEE_OTHER' | 'TEMPORARY_REDIRECT' | 'PERMANENT_REDIRECT';
  readonly strip_query?: boolean;
}

// ---------------------------------------------------------------- Cluster

export type LbPolicyName = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'PICK_FIRST' | 'CLUSTER_PROVIDED' | 'LOAD_BALANCING_POLICY_CONFIG';

/** The LB policy resolved from either lb_policy (+ its *_lb_config) or typed load_balancing_policy. */
export type LoadBalancingPolicy =
  | { readonly policy: 'ROUND_ROBIN' }
  | { readonly policy: 'RANDOM' }
  | { readonly policy: 'PICK_FIRST'; readonly shuffle_address_list?: boolean }
  | { readonly policy: 'LEAST_REQUEST'; /** default 2 */ readonly choice_count: number }
  | { readonly policy: 'RING_HASH'; /** defaults 1024 / 8M */ readonly minimum_ring_size: number; readonly maximum_ring_size: number; readonly hash_function: 'XX_HASH' | 'MURMUR_HASH_2' }
  | { readonly policy: 'MAGLEV'; /** default 65537 */ readonly table_size: number };

export interface Cluster {
  readonly name: string;
  readonly type: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST' | 'AGGREGATE';
  /** EDS: the ClusterLoadAssignment name to watch (eds_cluster_config.service_name or the cluster name). */
  readonly eds_service_name?: string;
  /** AGGREGATE: the clusters, in priority order (envoy.clusters.aggregate). */
  readonly aggregate_clusters?: readonly string[];
  /** STATIC / STRICT_DNS / LOGICAL_DNS: the inline load_assignment. */
  readonly load_assignment?: ClusterLoadAssignment;
  /** ms, envoy default 5000 */
  readonly connect_timeout?: number;
  readonly lb_policy: LoadBalancingPolicy;
  readonly locality_weighted_lb?: boolean;
  /** common_lb_config.healthy_panic_threshold, percent; envoy default 50. */
  readonly healthy_panic_threshold?: number;
  readonly circuit_breakers?: CircuitBreakers;
  readonly outlier_detection?: OutlierDetection;
  readonly transport_socket?: TransportSocket;
  readonly transport_socket_matches: readonly TransportSocketMatch[];
  /** From typed_extension_protocol_options / http2_protocol_options. */
  readonly protocol: 'HTTP1' | 'HTTP2' | 'USE_DOWNSTREAM';
  readonly max_concurrent_streams?: number;
  /**
   * common_http_protocol_options.idle_timeout (ms; HttpProtocolOptions or the deprecated Cluster field):
   * an upstream connection with no request for this long is closed. Unset: Envoy's 1 h; 0: never.
   */
  readonly idle_timeout?: number;
  /** common_http_protocol_options.max_requests_per_connection (or the deprecated Cluster field); unset or 0: no limit. */
  readonly max_requests_per_connection?: number;
  readonly metadata?: Metadata;
  readonly lrs_server?: boolean;
  readonly ignore_health_on_host_removal?: boolean;
}

export interface Thresholds {
  readonly priority: 'DEFAULT' | 'HIGH';
  /** envoy defaults 1024 / 1024 / 1024 / 3 */
  readonly max_connections?: number;
  readonly max_pending_requests?: number;
  readonly max_requests?: number;
  readonly max_retries?: number;
  readonly retry_budget?: { /** percent, default 20 */ readonly budget_percent?: number; /** default 3 */ readonly min_retry_concurrency?: number };
  readonly track_remaining?: boolean;
}

export interface CircuitBreakers {
  readonly thresholds: readonly Thresholds[];
  readonly per_host_thresholds: readonly Thresholds[];
}

/** envoy.config.cluster.v3.OutlierDetection; defaults are applied by core (named there). */
export interface OutlierDetection {
  readonly consecutive_5xx?: number;
  /** ms */ readonly interval?: number;
  /** ms */ readonly base_ejection_time?: number;
  /** ms */ readonly max_ejection_time?: number;
  readonly max_ejection_percent?: number;
  readonly enforcing_consecutive_5xx?: number;
  readonly enforcing_success_rate?: number;
  readonly success_rate_minimum_hosts?: number;
  readonly success_rate_request_volume?: number;
  readonly success_rate_stdev_factor?: number;
  readonly consecutive_gateway_failure?: number;
  readonly enforcing_consecutive_gateway_failure?: number;
  readonly split_external_local_origin_errors?: boolean;
  readonly consecutive_local_origin_failure?: number;
  readonly enforcing_consecutive_local_origin_failure?: number;
  readonly enforcing_local_origin_success_rate?: number;
  readonly failure_percentage_threshold?: number;
  readonly enforcing_failure_percentage?: number;
  readonly enforcing_failure_percentage_local_origin?: number;
  readonly failure_percentage_minimum_hosts?: number;
  readonly failure_percentage_request_volume?: number;
  /** ms */ readonly max_ejection_time_jitter?: number;
  /** BoolValue (Envoy 1.31+): the first ejection may pass max_ejection_percent. */
  readonly always_eject_one_host?: boolean;
}

export interface TransportSocket {
  readonly name: string;
  /** Decoded when typed_config is envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext. */
  readonly upstream_tls?: UpstreamTlsContext;
  readonly downstream_tls?: DownstreamTlsContext;
  readonly raw_buffer?: true;
  readonly opaque?: OpaqueExtension;
}

export interface TransportSocketMatch {
  readonly name: string;
  /** Struct -> JSON; matched against the endpoint's envoy.transport_socket_match metadata. */
  readonly match: Readonly<Record<string, unknown>>;
  readonly transport_socket: TransportSocket;
}

export interface CertificateProviderInstance {
  readonly instance_name: string;
  readonly certificate_name?: string;
}

export interface SdsSecretRef {
  readonly name: string;
  /** true when served over ADS / the sds-grpc cluster (istio-agent). */
  readonly sds_config?: Readonly<Record<string, unknown>>;
}

export interface CertificateValidationContext {
  readonly trusted_ca?: { readonly filename?: string; readonly inline_string?: string; readonly inline_bytes?: Uint8Array };
  readonly ca_certificate_provider_instance?: CertificateProviderInstance;
  readonly match_subject_alt_names: readonly StringMatcher[];
  readonly match_typed_subject_alt_names: readonly { readonly san_type: 'EMAIL' | 'DNS' | 'URI' | 'IP_ADDRESS' | 'OTHER_NAME' | 'SAN_TYPE_UNSPECIFIED'; readonly matcher: StringMatcher }[];
  readonly trust_chain_verification?: 'VERIFY_TRUST_CHAIN' | 'ACCEPT_UNTRUSTED';
}

export interface CommonTlsContext {
  readonly alpn_protocols: readonly string[];
  readonly tls_certificate_provider_instance?: CertificateProviderInstance;
  readonly tls_certificate_sds_secret_configs: readonly SdsSecretRef[];
  readonly tls_certificates: readonly { readonly certificate_chain?: { readonly filename?: string; readonly inline_string?: string }; readonly private_key?: { readonly filename?: string; readonly inline_string?: string } }[];
  /** validation_context, or the default part of combined_validation_context merged with its SDS/provider reference. */
  readonly validation_context?: CertificateValidationContext;
  readonly validation_context_sds_secret_config?: SdsSecretRef;
}

export interface UpstreamTlsContext {
  readonly common_tls_context: CommonTlsContext;
  readonly sni?: string;
  readonly allow_renegotiation?: boolean;
}

export interface DownstreamTlsContext {
  readonly common_tls_context: CommonTlsContext;
  readonly require_client_certificate?: boolean;
  readonly require_sni?: boolean;
}

// ---------------------------------------------------------------- ClusterLoadAssignment

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly sub_zone: string;
}

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpoint {
  readonly address: SocketAddress;
  /** Extra addresses (happy eyeballs / dual stack), if any. */
  readonly additional_addresses: readonly SocketAddress[];
  readonly hostname?: string;
  /** default UNKNOWN (treated as healthy, as envoy does) */
  readonly health_status: HealthStatus;
  /** default 1 */
  readonly load_balancing_weight: number;
  readonly metadata?: Metadata;
}

export interface LocalityLbEndpoints {
  readonly locality: Locality;
  readonly lb_endpoints: readonly LbEndpoint[];
  /** undefined when unset: then the locality carries no weight in locality-weighted LB. */
  readonly load_balancing_weight?: number;
  /** default 0 (highest) */
  readonly priority: number;
}

export interface ClusterLoadAssignment {
  readonly cluster_name: string;
  readonly endpoints: readonly LocalityLbEndpoints[];
  readonly policy: {
    /** percent; envoy default 140 */
    readonly overprovisioning_factor?: number;
    readonly drop_overloads: readonly { readonly category: string; readonly drop_percentage: FractionalPercent }[];
    /** ms */ readonly endpoint_stale_after?: number;
  };
}
