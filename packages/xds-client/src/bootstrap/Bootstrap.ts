/**
 * The parsed gRPC xDS bootstrap (gRFC A27, A47 federation, A71 fallback), as
 * istio-agent, Traffic Director's generator or a hand-written file provide it.
 *
 * Field names follow the bootstrap JSON (snake_case) so the type reads like the
 * file. Durations are milliseconds, as in the resource model.
 */

/** Channel credential types Meshlet can build, in the order gRPC documents them. */
export const SUPPORTED_CHANNEL_CREDS = ['insecure', 'tls', 'google_default'] as const;
export type ChannelCredsType = (typeof SUPPORTED_CHANNEL_CREDS)[number];

export interface ChannelCredsConfig {
  readonly type: ChannelCredsType;
  /** Type-specific config; for `tls` (gRFC A65): ca_certificate_file, certificate_file, private_key_file. */
  readonly config?: Readonly<Record<string, unknown>>;
}

/**
 * Call credential types Meshlet can attach to xDS calls (gRFC A97). A separate namespace
 * from channel creds: `call_creds` entries of other types are skipped, not errors.
 */
export const SUPPORTED_CALL_CREDS = ['jwt_token_file'] as const;
export type CallCredsType = (typeof SUPPORTED_CALL_CREDS)[number];

/**
 * gRFC A97 `jwt_token_file`: a JWT read from a file (the projected service-account token
 * istiod accepts, e.g. /var/run/secrets/tokens/istio-token), sent as `authorization: Bearer`.
 */
export interface JwtTokenFileCallCredsConfig {
  readonly type: 'jwt_token_file';
  readonly config: { readonly jwt_token_file: string };
}

export type CallCredsConfig = JwtTokenFileCallCredsConfig;

/**
 * Server feature that makes Meshlet speak incremental (delta) xDS to this server.
 * A Meshlet extension: gRPC clients ignore server features they do not know, so
 * one bootstrap file can serve both proxyless gRPC and Meshlet processes.
 */
export const DELTA_XDS_FEATURE = 'delta_xds';
/** gRFC A53: keep using a resource the server deletes (and log) instead of dropping it. */
export const IGNORE_RESOURCE_DELETION_FEATURE = 'ignore_resource_deletion';

export interface XdsServerConfig {
  readonly server_uri: string;
  /** The first entry of `channel_creds` whose type Meshlet supports (gRFC A27). */
  readonly channel_creds: ChannelCredsConfig;
  /**
   * Every supported entry of `call_creds` (gRFC A97), all applied together; empty when the
   * field is absent. Never combined with `insecure` channel creds: a token is not sent in clear.
   */
  readonly call_creds: readonly CallCredsConfig[];
  readonly server_features: readonly string[];
  /** `server_features` contains `ignore_resource_deletion` (gRFC A53). */
  readonly ignore_resource_deletion: boolean;
  /** `server_features` contains `delta_xds` (Meshlet extension, see DELTA_XDS_FEATURE). */
  readonly delta_xds: boolean;
}

export interface NodeLocality {
  readonly region?: string;
  readonly zone?: string;
  readonly sub_zone?: string;
}

export interface NodeConfig {
  readonly id: string;
  readonly cluster: string;
  readonly locality?: NodeLocality;
  /** google.protobuf.Struct as plain JSON (istio puts GENERATOR, NAMESPACE, LABELS... here). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface FileWatcherConfig {
  readonly certificate_file?: string;
  readonly private_key_file?: string;
  readonly ca_certificate_file?: string;
  /** ms; gRPC's default is 10 minutes. */
  readonly refresh_interval: number;
}

export interface CertificateProviderConfig {
  readonly plugin_name: string;
  /** The plugin's config as written; for `file_watcher` it has been validated. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Set when plugin_name is `file_watcher`. */
  readonly file_watcher?: FileWatcherConfig;
}

export interface AuthorityConfig {
  /** Empty means "use the top-level xds_servers" (gRFC A47). */
  readonly xds_servers: readonly XdsServerConfig[];
  /** Defaults to `xdstp://<authority>/envoy.config.listener.v3.Listener/%s`. */
  readonly client_listener_resource_name_template: string;
}

export interface Bootstrap {
  /** In priority order: the first is the primary, the rest are fallbacks (gRFC A71). */
  readonly xds_servers: readonly XdsServerConfig[];
  readonly node: NodeConfig;
  readonly certificate_providers: Readonly<Record<string, CertificateProviderConfig>>;
  /** gRFC A36; istio-agent writes `xds.istio.io/grpc/lds/inbound/%s`. */
  readonly server_listener_resource_name_template?: string;
  /** gRFC A47; `%s` by default. */
  readonly client_default_listener_resource_name_template: string;
  readonly authorities: Readonly<Record<string, AuthorityConfig>>;
}
