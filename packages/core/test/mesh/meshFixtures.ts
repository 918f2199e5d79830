/** Plain snake_case xDS objects shaped like istiod's grpc-generator output, for Mesh tests. */
export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export function listener(name: string, routeConfigName: string): Record<string, unknown> {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': HCM_TYPE,
        rds: { route_config_name: routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      },
    },
  };
}

export function routeConfig(name: string, domain: string, clusters: Array<[string, number]>): Record<string, unknown> {
  const action =
    clusters.length === 1
      ? { cluster: clusters[0]![0] }
      : { weighted_clusters: { clusters: clusters.map(([n, weight]) => ({ name: n, weight })) } };
  return {
    name,
    virtual_hosts: [{ name: domain, domains: [domain, `${domain.split(':')[0]}`], routes: [{ match: { prefix: '/' }, route: action }] }],
  };
}

export function edsCluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: name }, connect_timeout: '1s', ...extra };
}

export function endpoints(clusterName: string, ports: number[], address = '127.0.0.1'): Record<string, unknown> {
  return {
    cluster_name: clusterName,
    endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address, port_value: port } } } })) }],
  };
}
