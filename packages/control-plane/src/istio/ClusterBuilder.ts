import { clusterName } from './IstioNames.js';
import type { DestinationPolicy } from './DestinationRuleTranslator.js';
import { durationObject, stringStruct, typedConfig, UINT32_MAX, type ProtoObject } from './ProtoObjects.js';
import { endpointPort, isHttp2Port, type MeshService, type ServiceEndpoint, type ServicePort } from './ServiceEntryTranslator.js';
import { policyForPort, EMPTY_POLICY, type TrafficPolicy } from './TrafficPolicy.js';

/** istiod's mesh default connectTimeout (MeshConfig.connect_timeout). */
const DEFAULT_CONNECT_TIMEOUT_NS = 10e9;
/** Envoy's ring hash default, which istiod writes out explicitly for consistentHash without ringHash. */
const DEFAULT_MINIMUM_RING_SIZE = 1024;

export interface ServiceClusters {
  readonly clusters: ProtoObject[];
  readonly endpoints: ProtoObject[];
}

/**
 * The EDS clusters of one ServiceEntry host, for every port: `outbound|PORT||HOST`
 * and one `outbound|PORT|SUBSET|HOST` per DestinationRule subset, each with a
 * ClusterLoadAssignment of the same name holding the endpoints that match.
 */
export function buildServiceClusters(service: MeshService, rule: DestinationPolicy | undefined): ServiceClusters {
  const clusters: ProtoObject[] = [];
  const endpoints: ProtoObject[] = [];
  const top = rule?.trafficPolicy ?? EMPTY_POLICY;
  for (const port of service.ports) {
    const whole = clusterName(port.number, '', service.host);
    clusters.push(buildCluster(whole, port, policyForPort(top, undefined, port.number), service));
    endpoints.push(buildLoadAssignment(whole, port, service.endpoints));
    for (const subset of rule?.subsets ?? []) {
      const name = clusterName(port.number, subset.name, service.host);
      clusters.push(buildCluster(name, port, policyForPort(top, subset.trafficPolicy, port.number), service));
      const members = service.endpoints.filter((ep) => Object.entries(subset.labels).every(([k, v]) => ep.labels[k] === v));
      endpoints.push(buildLoadAssignment(name, port, members));
    }
  }
  return { clusters, endpoints };
}

function buildCluster(name: string, port: ServicePort, policy: TrafficPolicy, service: MeshService): ProtoObject {
  const pool = policy.connectionPool;
  const cluster: ProtoObject = {
    name,
    type: 'EDS',
    eds_cluster_config: { service_name: name, eds_config: { ads: {} } },
    connect_timeout: durationObject(pool?.connectTimeoutNs ?? DEFAULT_CONNECT_TIMEOUT_NS),
  };
  applyLoadBalancer(cluster, policy);
  applyConnectionPool(cluster, policy, port);
  applyOutlierDetection(cluster, policy);
  applyTls(cluster, policy, service);
  return cluster;
}

function applyLoadBalancer(cluster: ProtoObject, policy: TrafficPolicy): void {
  const lb = policy.loadBalancer;
  const hash = lb?.consistentHash;
  if (hash) {
    if (hash.algorithm === 'MAGLEV') {
      cluster['lb_policy'] = 'MAGLEV';
      if (hash.tableSize !== undefined) cluster['maglev_lb_config'] = { table_size: { value: hash.tableSize } };
    } else {
      cluster['lb_policy'] = 'RING_HASH';
      cluster['ring_hash_lb_config'] = { minimum_ring_size: { value: hash.minimumRingSize ?? DEFAULT_MINIMUM_RING_SIZE } };
    }
    return;
  }
  switch (lb?.simple) {
    case 'ROUND_ROBIN':
      cluster['lb_policy'] = 'ROUND_ROBIN';
      break;
    case 'RANDOM':
      cluster['lb_policy'] = 'RANDOM';
      break;
    default:
      // istiod's default (defaultLBAlgorithm) for UNSPECIFIED, LEAST_CONN and LEAST_REQUEST.
      cluster['lb_policy'] = 'LEAST_REQUEST';
  }
}

/**
 * istiod always writes circuit-breaker thresholds, starting from "unlimited"
 * (uint32 max, with track_remaining) instead of Envoy's 1024/1024/1024/3, and
 * overrides each limit only when the DestinationRule sets it above zero
 * (getDefaultCircuitBreakerThresholds / applyConnectionPool).
 */
function applyConnectionPool(cluster: ProtoObject, policy: TrafficPolicy, port: ServicePort): void {
  const pool = policy.connectionPool ?? {};
  const limit = (v: number | undefined) => ({ value: v !== undefined && v > 0 ? v : UINT32_MAX });
  cluster['circuit_breakers'] = {
    thresholds: [
      {
        max_connections: limit(pool.maxConnections),
        max_pending_requests: limit(pool.http1MaxPendingRequests),
        max_requests: limit(pool.http2MaxRequests),
        max_retries: limit(pool.maxRetries),
        track_remaining: true,
      },
    ],
  };
  const common: ProtoObject = {};
  if (pool.idleTimeoutNs !== undefined) common['idle_timeout'] = durationObject(pool.idleTimeoutNs);
  if (pool.maxRequestsPerConnection !== undefined && pool.maxRequestsPerConnection > 0) common['max_requests_per_connection'] = { value: pool.maxRequestsPerConnection };
  const h2 = isHttp2Port(port);
  if (h2 || Object.keys(common).length > 0) {
    const options: ProtoObject = {
      explicit_http_config: h2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
    };
    if (Object.keys(common).length > 0) options['common_http_protocol_options'] = common;
    cluster['typed_extension_protocol_options'] = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typedConfig('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', options),
    };
  }
}

/**
 * As istiod's applyOutlierDetection: success-rate ejection off, each consecutive
 * error kind enforced at 100% when its threshold is above zero, and the panic
 * threshold set to minHealthPercent (default 0, i.e. panic mode disabled) because
 * small services otherwise spray traffic at ejected hosts.
 */
function applyOutlierDetection(cluster: ProtoObject, policy: TrafficPolicy): void {
  const o = policy.outlierDetection;
  if (!o) return;
  const out: ProtoObject = { enforcing_success_rate: { value: 0 } };
  if (o.consecutive5xxErrors !== undefined) {
    out['consecutive_5xx'] = { value: o.consecutive5xxErrors };
    out['enforcing_consecutive_5xx'] = { value: o.consecutive5xxErrors > 0 ? 100 : 0 };
  }
  if (o.consecutiveGatewayErrors !== undefined) {
    out['consecutive_gateway_failure'] = { value: o.consecutiveGatewayErrors };
    out['enforcing_consecutive_gateway_failure'] = { value: o.consecutiveGatewayErrors > 0 ? 100 : 0 };
  }
  if (o.intervalNs !== undefined) out['interval'] = durationObject(o.intervalNs);
  if (o.baseEjectionTimeNs !== undefined) out['base_ejection_time'] = durationObject(o.baseEjectionTimeNs);
  if (o.maxEjectionPercent !== undefined && o.maxEjectionPercent > 0) out['max_ejection_percent'] = { value: o.maxEjectionPercent };
  if (o.splitExternalLocalOriginErrors) {
    out['split_external_local_origin_errors'] = true;
    if ((o.consecutiveLocalOriginFailures ?? 0) > 0) {
      out['consecutive_local_origin_failure'] = { value: o.consecutiveLocalOriginFailures };
      out['enforcing_consecutive_local_origin_failure'] = { value: 100 };
    }
    out['enforcing_local_origin_success_rate'] = { value: 0 };
  }
  cluster['outlier_detection'] = out;
  cluster['common_lb_config'] = { healthy_panic_threshold: { value: o.minHealthPercent ?? 0 } };
}

/**
 * ISTIO_MUTUAL as the grpc generator writes it: the workload certificate and the
 * root from certificate provider instance `default` (certificate names `default`
 * and `ROOTCA`), with the ServiceEntry's subjectAltNames as exact SAN matches.
 */
function applyTls(cluster: ProtoObject, policy: TrafficPolicy, service: MeshService): void {
  const tls = policy.tls;
  if (!tls || tls.mode !== 'ISTIO_MUTUAL') return;
  const sans = tls.subjectAltNames.length > 0 ? tls.subjectAltNames : service.subjectAltNames;
  const context: ProtoObject = {
    common_tls_context: {
      tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
      validation_context: {
        ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
        match_subject_alt_names: sans.map((exact) => ({ exact })),
      },
    },
  };
  if (tls.sni !== undefined) context['sni'] = tls.sni;
  cluster['transport_socket'] = {
    name: 'envoy.transport_sockets.tls',
    typed_config: typedConfig('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', context),
  };
}

/**
 * Endpoints grouped by locality (in first-seen order), each locality weighted by
 * the sum of its endpoint weights as istiod does. Labels go to the `envoy.lb`
 * filter metadata, where Envoy's subset load balancer and Meshlet look for them.
 */
function buildLoadAssignment(name: string, port: ServicePort, members: readonly ServiceEndpoint[]): ProtoObject {
  const groups = new Map<string, { locality: ProtoObject; lb_endpoints: ProtoObject[]; weight: number }>();
  for (const ep of members) {
    const loc = ep.locality ?? { region: '', zone: '', sub_zone: '' };
    const key = `${loc.region}/${loc.zone}/${loc.sub_zone}`;
    let group = groups.get(key);
    if (!group) {
      group = { locality: { ...loc }, lb_endpoints: [], weight: 0 };
      groups.set(key, group);
    }
    const weight = ep.weight ?? 1;
    group.weight += weight;
    const lbEndpoint: ProtoObject = {
      endpoint: { address: { socket_address: { address: ep.address, port_value: endpointPort(ep, port) } } },
      health_status: 'HEALTHY',
      load_balancing_weight: { value: weight },
    };
    if (Object.keys(ep.labels).length > 0) lbEndpoint['metadata'] = { filter_metadata: { 'envoy.lb': stringStruct(ep.labels) } };
    group.lb_endpoints.push(lbEndpoint);
  }
  return {
    cluster_name: name,
    endpoints: [...groups.values()].map((g) => ({
      locality: g.locality,
      lb_endpoints: g.lb_endpoints,
      load_balancing_weight: { value: Math.min(g.weight, UINT32_MAX) },
    })),
  };
}
