import { DownstreamTlsFactory, RouteTable, type CertificateProviderRegistry } from '@meshlet/core';
import { ValidationError, type FilterChain, type HttpConnectionManager } from '@meshlet/xds-client';
import { compileServerHttpFilters, type PerRouteFilterConfigs, type ServerHttpFilter } from './ServerHttpFilters.js';

export interface FilterChainCompileContext {
  /** Whether the Listener's transport sockets are honoured (MeshServerCredentials) or ignored (other credentials). */
  readonly xdsSecurity: boolean;
  /** Certificate provider instances for DownstreamTlsContext (gRFC A29); required when a chain has TLS. */
  readonly certificateProviders: CertificateProviderRegistry | undefined;
  readonly perRoute: PerRouteFilterConfigs;
}

/**
 * One FilterChain of a server Listener, validated and compiled (gRFC A36): its only network filter
 * is the HttpConnectionManager, whose routes come inline or by RDS name, whose HTTP filters act on
 * calls, and whose transport socket, if any, is a DownstreamTlsContext.
 */
export class ServerFilterChain {
  private constructor(
    readonly name: string,
    readonly hcm: HttpConnectionManager,
    readonly filters: readonly ServerHttpFilter[],
    /** Inline route_config, compiled; undefined when the routes come from RDS. */
    readonly inlineRoutes: RouteTable | undefined,
    /** RDS route_config_name; undefined for inline routes. */
    readonly rdsName: string | undefined,
    /** mTLS for connections on this chain; undefined = the credentials' fallback (plaintext). */
    readonly tls: DownstreamTlsFactory | undefined,
  ) {}

  /** @throws ValidationError (or MeshletTlsError for TLS config) when the chain cannot be served. */
  static compile(chain: FilterChain, fieldPath: string, ctx: FilterChainCompileContext): ServerFilterChain {
    const hcm = chain.http_connection_manager;
    // A36: the HCM must be the one and only network filter.
    if (hcm === undefined || chain.filters.length !== 1) {
      throw new ValidationError(`${fieldPath}.filters`, 'a server filter chain must have exactly one network filter, envoy.filters.network.http_connection_manager (gRFC A36)');
    }
    const filters = compileServerHttpFilters(hcm, `${fieldPath}.filters[0]`);
    let inline: RouteTable | undefined;
    if (hcm.route_config !== undefined) {
      ctx.perRoute.prepare(hcm.route_config);
      inline = RouteTable.compile(hcm.route_config);
    } else if (hcm.rds === undefined) {
      throw new ValidationError(`${fieldPath}.filters[0]`, 'HttpConnectionManager has neither rds nor route_config');
    } else if (!hcm.rds.config_source_ads) {
      throw new ValidationError(`${fieldPath}.filters[0].rds.config_source`, 'only ADS config sources are supported');
    }
    let tls: DownstreamTlsFactory | undefined;
    const ts = chain.transport_socket;
    if (ts !== undefined && ctx.xdsSecurity) {
      if (ts.downstream_tls !== undefined) {
        if (ctx.certificateProviders === undefined) {
          throw new ValidationError(`${fieldPath}.transport_socket`, 'DownstreamTlsContext needs certificate providers (bootstrap certificate_providers or the certificateProviders option)');
        }
        tls = new DownstreamTlsFactory(ts.downstream_tls, ctx.certificateProviders, `${fieldPath}.transport_socket.typed_config`);
      } else if (ts.raw_buffer !== true) {
        throw new ValidationError(`${fieldPath}.transport_socket`, `unsupported transport socket ${ts.name} (expected a DownstreamTlsContext)`);
      }
    }
    return new ServerFilterChain(chain.name ?? fieldPath, hcm, filters, inline, hcm.rds?.route_config_name, tls);
  }
}
