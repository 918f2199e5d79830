/** istiod-shaped xDS resources (listener `host:port` with an api_listener HCM over RDS, EDS clusters) loaded into a StaticResourceSource. Shared by the http and grpc tests. */
import {
  ClusterLoadAssignmentResource,
  ClusterResource,
  ListenerResource,
  RouteConfigurationResource,
  StaticResourceSource,
  fromProto3Json,
  type ResourceType,
} from '@meshlet/xds-client';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export interface ClusterSpec {
  readonly name: string;
  readonly ports: number[];
  /** Extra Cluster fields (proto3 JSON), e.g. outlier_detection, circuit_breakers, lb_policy. */
  readonly cluster?: Record<string, unknown>;
  /** Raw CLA `endpoints` (LocalityLbEndpoints, proto3 JSON) instead of one locality of `ports`: priorities, health_status. */
  readonly endpoints?: Record<string, unknown>[];
}

/** retry_host_predicate entry for Envoy's previous_hosts predicate. */
export const PREVIOUS_HOSTS = {
  name: 'envoy.retry_host_predicates.previous_hosts',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
};

/** One CLA lb_endpoint on 127.0.0.1 (proto3 JSON). */
export function lbEndpoint(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, ...extra };
}

export interface MeshSpec {
  /** Listener / target name `host:port`. */
  readonly target: string;
  /** Routes (proto3 JSON Route objects); default: one prefix "/" route to the first cluster. */
  readonly routes?: Record<string, unknown>[];
  readonly clusters: ClusterSpec[];
  /** HCM fault filter config (proto3 JSON HTTPFault); adds the filter when set. */
  readonly fault?: Record<string, unknown>;
  readonly virtualHost?: Record<string, unknown>;
}

function put<T>(source: StaticResourceSource, type: ResourceType<T>, objects: Record<string, unknown>[]): void {
  source.replaceFromObjects(type, objects.map((o) => fromProto3Json(type.typeUrl, o)));
}

/** Loads a mesh (shaped like istiod's output) into a StaticResourceSource; call again to push an update. */
export function applyMesh(source: StaticResourceSource, spec: MeshSpec): void {
  const rds = `routes:${spec.target}`;
  const host = spec.target.split(':')[0]!;
  put(
    source,
    ClusterLoadAssignmentResource,
    spec.clusters.map((c) => ({
      cluster_name: c.name,
      endpoints: c.endpoints ?? [{ lb_endpoints: c.ports.map((port) => lbEndpoint(port)) }],
    })),
  );
  put(
    source,
    ClusterResource,
    spec.clusters.map((c) => ({ name: c.name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: '1s', ...c.cluster })),
  );
  put(source, RouteConfigurationResource, [
    {
      name: rds,
      virtual_hosts: [
        {
          name: spec.target,
          domains: [spec.target, host],
          routes: spec.routes ?? [{ match: { prefix: '/' }, route: { cluster: spec.clusters[0]!.name } }],
          ...spec.virtualHost,
        },
      ],
    },
  ]);
  const filters: Record<string, unknown>[] = [];
  if (spec.fault) filters.push({ name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT, ...spec.fault } });
  filters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } });
  put(source, ListenerResource, [
    {
      name: spec.target,
      api_listener: { api_listener: { '@type': HCM, rds: { route_config_name: rds, config_source: { ads: {} } }, http_filters: filters } },
    },
  ]);
}
