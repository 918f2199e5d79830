// Config shaped like istiod's grpc generator output (listener `host:port` with an
// api_listener HCM over RDS, EDS clusters `outbound|PORT|SUBSET|HOST`), as proto3 JSON.
import { loadXdsClient } from './pkgs.mjs';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export const TARGET_HOST = 'reviews.bench.svc.cluster.local';
export const TARGET_PORT = 9080;
export const TARGET = `${TARGET_HOST}:${TARGET_PORT}`;
export const ROUTE_NAME = `outbound|${TARGET_PORT}||${TARGET_HOST}`;
export const V1 = `outbound|${TARGET_PORT}|v1|${TARGET_HOST}`;
export const V2 = `outbound|${TARGET_PORT}|v2|${TARGET_HOST}`;

/** Request path that walks all 10 routes and lands on the weighted default. */
export const DEFAULT_PATH = '/reviews/1';

/**
 * The "realistic" config of the HTTP overhead scenario: 10 routes (a header match, a regex,
 * 7 prefixes, a weighted 90/10 default with a retry policy and timeout), two subsets with
 * outlier detection and circuit breakers.
 */
export function realisticMesh({ v1Ports, v2Ports, weights = [90, 10] }) {
  const prefixes = ['/ratings/', '/details/', '/productpage/', '/static/', '/login', '/logout', '/healthz'];
  const routes = [
    { name: 'canary-header', match: { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'always' } }] }, route: { cluster: V2, timeout: '10s' } },
    { name: 'items-regex', match: { safe_regex: { regex: '/api/v[0-9]+/items/[0-9]+' } }, route: { cluster: V1, timeout: '10s' } },
    ...prefixes.map((prefix, i) => ({ name: `prefix-${i}`, match: { prefix }, route: { cluster: V1, timeout: '10s' } })),
    {
      name: 'default',
      match: { prefix: '/' },
      route: {
        weighted_clusters: { clusters: [{ name: V1, weight: weights[0] }, { name: V2, weight: weights[1] }] },
        timeout: '10s',
        retry_policy: {
          retry_on: '5xx,connect-failure,refused-stream,reset',
          num_retries: 2,
          per_try_timeout: '2s',
          retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
          host_selection_retry_max_attempts: '5',
        },
      },
    },
  ];
  const cluster = (name) => ({
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} }, service_name: name },
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    outlier_detection: { consecutive_5xx: 5, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 10 },
    circuit_breakers: { thresholds: [{ max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 }] },
  });
  const cla = (name, ports) => ({
    cluster_name: name,
    endpoints: [
      {
        locality: { region: 'local', zone: 'a' },
        lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })),
      },
    ],
  });
  return {
    listeners: [listener(TARGET, ROUTE_NAME)],
    routes: [{ name: ROUTE_NAME, virtual_hosts: [{ name: TARGET, domains: [TARGET, TARGET_HOST], routes }] }],
    clusters: [cluster(V1), cluster(V2)],
    endpoints: [cla(V1, v1Ports), cla(V2, v2Ports)],
  };
}

/** `hcm`: further HttpConnectionManager fields (proto3 JSON), e.g. `generate_request_id`. */
export function listener(name, routeName, hcm = {}) {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': HCM,
        stat_prefix: name,
        rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
        ...hcm,
      },
    },
  };
}

/** proto3 JSON mesh -> object form (what StaticResourceSource and AdsServer take). */
export async function toObjectForm(mesh) {
  const x = await loadXdsClient();
  const conv = (type, list) => list.map((o) => x.fromProto3Json(type.typeUrl, o));
  return {
    listeners: conv(x.ListenerResource, mesh.listeners),
    routes: conv(x.RouteConfigurationResource, mesh.routes),
    clusters: conv(x.ClusterResource, mesh.clusters),
    endpoints: conv(x.ClusterLoadAssignmentResource, mesh.endpoints),
  };
}

/** Loads (or replaces) a whole mesh in a StaticResourceSource. */
export async function applyToStatic(source, mesh) {
  const x = await loadXdsClient();
  const o = await toObjectForm(mesh);
  source.replaceFromObjects(x.ClusterLoadAssignmentResource, o.endpoints);
  source.replaceFromObjects(x.ClusterResource, o.clusters);
  source.replaceFromObjects(x.RouteConfigurationResource, o.routes);
  source.replaceFromObjects(x.ListenerResource, o.listeners);
}
