import { encodeAny } from '@meshlet/xds-client';

/**
 * Resources for an unmodified @grpc/grpc-js-xds client, shaped like istiod's grpc generator
 * output: listener `host:port` (api_listener HCM, RDS over ADS, router filter), route config
 * `outbound|PORT||HOST`, EDS clusters `outbound|PORT|SUBSET|HOST`. The route sends the Pinned
 * method to one cluster and every other method by a default action.
 */
export const HOST = 'greeter.test';
export const PORT = 50051;
export const LISTENER = `${HOST}:${PORT}`;
export const ROUTE = `outbound|${PORT}||${HOST}`;
export const CLUSTER_ALL = `outbound|${PORT}||${HOST}`;
export const CLUSTER_A = `outbound|${PORT}|a|${HOST}`;
export const CLUSTER_B = `outbound|${PORT}|b|${HOST}`;
const PINNED_PATH = '/meshlet.test.Greeter/Pinned';

export function apiListener(): Record<string, unknown> {
  const hcm = {
    stat_prefix: LISTENER,
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: ROUTE },
    // grpc-js-xds rejects an HCM whose last filter is not the router (gRFC A39).
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: encodeAny('envoy.extensions.filters.http.router.v3.Router', {}) }],
  };
  return {
    name: LISTENER,
    address: { socket_address: { address: '0.0.0.0', port_value: PORT } },
    api_listener: { api_listener: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) },
  };
}

export type GreeterRouteAction = { cluster: string } | { weighted_clusters: { clusters: { name: string; weight: { value: number } }[] } };

export function greeterRouteConfig(pinned: string, defaultAction: GreeterRouteAction): Record<string, unknown> {
  return {
    name: ROUTE,
    virtual_hosts: [
      {
        name: LISTENER,
        domains: [HOST, LISTENER],
        routes: [
          { name: 'pinned', match: { path: PINNED_PATH }, route: { cluster: pinned } },
          { name: 'default', match: { prefix: '/' }, route: defaultAction },
        ],
      },
    ],
  };
}

/** The bootstrap grpc-js-xds reads (from GRPC_XDS_BOOTSTRAP_CONFIG) to reach an AdsServer on 127.0.0.1. */
export function grpcXdsBootstrap(port: number, nodeId: string): string {
  return JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: nodeId, metadata: { GENERATOR: 'grpc' }, locality: {} },
  });
}
