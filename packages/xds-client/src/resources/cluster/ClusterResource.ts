import type { CircuitBreakers, Cluster, OutlierDetection, Thresholds, TransportSocketMatch } from '../model.js';
import { CLUSTER_TYPE_URL, type ResourceType } from '../ResourceType.js';
import { clusterLoadAssignment } from '../endpoint/ClusterLoadAssignmentResource.js';
import { transportSocket } from '../common/TransportSockets.js';
import { anyValue, decodeKnown, typeName } from '../common/TypedExtensions.js';
import { defineResourceType } from '../common/ResourceDecoding.js';
import { resolveLbPolicy } from './LoadBalancingPolicy.js';
import { decodeClusterWire } from './ClusterWire.js';
import { asObj, at, compact, fail, list, map, optBool, optDurationMs, optEnum, optMetadata, optObj, optPercent, optStr, optStruct, optWrappedBool, optWrappedUint, str, strList, type Obj } from '../common/ObjectReader.js';

const CLUSTER_TYPES = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'] as const;
const AGGREGATE_CONFIG = 'envoy.extensions.clusters.aggregate.v3.ClusterConfig';
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function thresholds(v: unknown, path: string): Thresholds {
  const o = asObj(v, path);
  const rb = optObj(o, 'retry_budget', path);
  const rbp = at(path, 'retry_budget');
  return compact({
    priority: optEnum(o, 'priority', path, ['DEFAULT', 'HIGH'] as const) ?? 'DEFAULT',
    max_connections: optWrappedUint(o, 'max_connections', path),
    max_pending_requests: optWrappedUint(o, 'max_pending_requests', path),
    max_requests: optWrappedUint(o, 'max_requests', path),
    max_retries: optWrappedUint(o, 'max_retries', path),
    retry_budget: rb ? compact({ budget_percent: optPercent(rb, 'budget_percent', rbp), min_retry_concurrency: optWrappedUint(rb, 'min_retry_concurrency', rbp) }) : undefined,
    track_remaining: optBool(o, 'track_remaining', path),
  });
}

function circuitBreakers(o: Obj, path: string): CircuitBreakers {
  return {
    thresholds: list(o, 'thresholds', path).map((t, i) => thresholds(t, at(at(path, 'thresholds'), i))),
    per_host_thresholds: list(o, 'per_host_thresholds', path).map((t, i) => thresholds(t, at(at(path, 'per_host_thresholds'), i))),
  };
}

/** Fields of OutlierDetection that are percentages: gRFC A50 NACKs values above 100. */
const OD_PERCENTS = [
  'max_ejection_percent',
  'enforcing_consecutive_5xx',
  'enforcing_success_rate',
  'enforcing_consecutive_gateway_failure',
  'enforcing_consecutive_local_origin_failure',
  'enforcing_local_origin_success_rate',
  'failure_percentage_threshold',
  'enforcing_failure_percentage',
  'enforcing_failure_percentage_local_origin',
] as const;
const OD_COUNTS = [
  'consecutive_5xx',
  'success_rate_minimum_hosts',
  'success_rate_request_volume',
  'success_rate_stdev_factor',
  'consecutive_gateway_failure',
  'consecutive_local_origin_failure',
  'failure_percentage_minimum_hosts',
  'failure_percentage_request_volume',
] as const;
const OD_DURATIONS = ['interval', 'base_ejection_time', 'max_ejection_time', 'max_ejection_time_jitter'] as const;
/** OutlierDetection.base_ejection_time's default. */
const DEFAULT_BASE_EJECTION_TIME_MS = 30_000;

function outlierDetection(o: Obj, path: string): OutlierDetection {
  const out: Record<string, unknown> = {};
  for (const k of OD_PERCENTS) {
    const v = optWrappedUint(o, k, path);
    if (v !== undefined && v > 100) fail(at(path, k), 'must be at most 100 (percent)');
    out[k] = v;
  }
  for (const k of OD_COUNTS) out[k] = optWrappedUint(o, k, path);
  for (const k of OD_DURATIONS) out[k] = optDurationMs(o, k, path);
  // Envoy refuses the cluster when max_ejection_time is below base_ejection_time (default 30 s):
  // "outlier detector's max_ejection_time cannot be smaller than base_ejection_time".
  const max = out['max_ejection_time'] as number | undefined;
  const base = (out['base_ejection_time'] as number | undefined) ?? DEFAULT_BASE_EJECTION_TIME_MS;
  if (max !== undefined && max < base) fail(at(path, 'max_ejection_time'), `must not be smaller than base_ejection_time (${base} ms)`);
  out['split_external_local_origin_errors'] = optBool(o, 'split_external_local_origin_errors', path);
  out['always_eject_one_host'] = optWrappedBool(o, 'always_eject_one_host', path);
  return compact(out) as OutlierDetection;
}

interface ProtocolChoice {
  protocol: Cluster['protocol'];
  max_concurrent_streams?: number;
  idle_timeout?: number;
  max_requests_per_connection?: number;
}

/**
 * HttpProtocolOptions.common_http_protocol_options (or the deprecated Cluster field of that name):
 * idle_timeout and max_requests_per_connection, what Istio's DestinationRule connectionPool.http
 * idleTimeout and maxRequestsPerConnection become. Later sources override earlier ones field by field.
 */
function readCommonHttpOptions(o: Obj | undefined, path: string, into: ProtocolChoice): void {
  if (!o) return;
  const idle = optDurationMs(o, 'idle_timeout', path);
  if (idle !== undefined) into.idle_timeout = idle;
  const max = optWrappedUint(o, 'max_requests_per_connection', path);
  if (max !== undefined) into.max_requests_per_connection = max;
}

/**
 * The upstream protocol: Cluster.http2_protocol_options (deprecated) or the
 * HttpProtocolOptions extension in typed_extension_protocol_options, which
 * Envoy looks up by type, not by the map key.
 */
function upstreamProtocol(o: Obj, path: string): ProtocolChoice {
  const choice: ProtocolChoice = { protocol: 'HTTP1' };
  const legacyH2 = optObj(o, 'http2_protocol_options', path);
  if (legacyH2) {
    choice.protocol = 'HTTP2';
    choice.max_concurrent_streams = optWrappedUint(legacyH2, 'max_concurrent_streams', at(path, 'http2_protocol_options'));
  }
  if (o['protocol_selection'] === 'USE_DOWNSTREAM_PROTOCOL') choice.protocol = 'USE_DOWNSTREAM';
  // Deprecated Cluster fields first; the HttpProtocolOptions extension, read below, overrides them.
  const legacyMax = optWrappedUint(o, 'max_requests_per_connection', path);
  if (legacyMax !== undefined) choice.max_requests_per_connection = legacyMax;
  readCommonHttpOptions(optObj(o, 'common_http_protocol_options', path), at(path, 'common_http_protocol_options'), choice);
  const tp = at(path, 'typed_extension_protocol_options');
  for (const [key, v] of Object.entries(map(o, 'typed_extension_protocol_options', path))) {
    const kp = `${tp}["${key}"]`;
    const any = anyValue(v, kp);
    if (typeName(any) !== HTTP_PROTOCOL_OPTIONS) continue;
    const hpo = decodeKnown(any, kp)!;
    readCommonHttpOptions(optObj(hpo, 'common_http_protocol_options', kp), at(kp, 'common_http_protocol_options'), choice);
    const explicit = optObj(hpo, 'explicit_http_config', kp);
    const downstream = optObj(hpo, 'use_downstream_protocol_config', kp);
    const auto = optObj(hpo, 'auto_config', kp);
    if (explicit) {
      const ep = at(kp, 'explicit_http_config');
      if (explicit['http3_protocol_options'] !== undefined) fail(at(ep, 'http3_protocol_options'), 'HTTP/3 upstreams are not supported');
      const h2 = optObj(explicit, 'http2_protocol_options', ep);
      choice.protocol = h2 ? 'HTTP2' : 'HTTP1';
      if (h2) choice.max_concurrent_streams = optWrappedUint(h2, 'max_concurrent_streams', at(ep, 'http2_protocol_options'));
    } else if (downstream) {
      choice.protocol = 'USE_DOWNSTREAM';
    } else if (auto) {
      // auto_config negotiates h2 or http/1.1 by ALPN; without TLS that is HTTP/1.1, which is what Meshlet assumes here.
      choice.protocol = 'HTTP1';
    }
  }
  return choice;
}

function clusterType(o: Obj, path: string): { type: Cluster['type']; aggregate_clusters?: readonly string[] } {
  const ct = optObj(o, 'cluster_type', path);
  if (ct) {
    const cp = at(path, 'cluster_type');
    if (ct['typed_config'] === undefined) fail(at(cp, 'typed_config'), 'typed_config is required');
    const any = anyValue(ct['typed_config'], at(cp, 'typed_config'));
    if (typeName(any) !== AGGREGATE_CONFIG) fail(cp, `custom cluster type ${str(ct, 'name', cp) || typeName(any)} is not supported`);
    const cfg = decodeKnown(any, at(cp, 'typed_config'))!;
    const clusters = strList(cfg, 'clusters', at(cp, 'typed_config'));
    // PGV: min_items 1 (gRFC A37 NACKs an empty list).
    if (clusters.length === 0) fail(at(at(cp, 'typed_config'), 'clusters'), 'an aggregate cluster needs at least one cluster');
    return { type: 'AGGREGATE', aggregate_clusters: clusters };
  }
  return { type: optEnum(o, 'type', path, CLUSTER_TYPES) ?? 'STATIC' };
}

/** envoy.config.cluster.v3.Cluster (gRFC A27 / A32 / A37 / A42 / A50 rules). */
export function cluster(o: Obj, path = ''): Cluster {
  const name = str(o, 'name', path);
  const { type, aggregate_clusters } = clusterType(o, path);
  let eds_service_name: string | undefined;
  if (type === 'EDS') {
    const eds = optObj(o, 'eds_cluster_config', path);
    // gRFC A27: without service_name the cluster name is the EDS resource name.
    eds_service_name = (eds && optStr(eds, 'service_name', at(path, 'eds_cluster_config'))) || name;
  }
  const la = optObj(o, 'load_assignment', path);
  const lb = resolveLbPolicy(o, path);
  const common = optObj(o, 'common_lb_config', path) ?? {};
  const cp = at(path, 'common_lb_config');
  const cb = optObj(o, 'circuit_breakers', path);
  const od = optObj(o, 'outlier_detection', path);
  const ts = optObj(o, 'transport_socket', path);
  const proto = upstreamProtocol(o, path);
  const connect_timeout = optDurationMs(o, 'connect_timeout', path);
  // PGV: connect_timeout > 0 when set.
  if (connect_timeout === 0) fail(at(path, 'connect_timeout'), 'connect_timeout must be greater than 0');
  const localityWeighted = common['locality_weighted_lb_config'] !== undefined || lb.locality_weighted;
  const tsMatches = list(o, 'transport_socket_matches', path).map((m, i): TransportSocketMatch => {
    const mp = at(at(path, 'transport_socket_matches'), i);
    const mo = asObj(m, mp);
    const sock = optObj(mo, 'transport_socket', mp);
    if (!sock) fail(at(mp, 'transport_socket'), 'transport_socket is required');
    return { name: str(mo, 'name', mp), match: optStruct(mo, 'match', mp) ?? {}, transport_socket: transportSocket(sock, at(mp, 'transport_socket')) };
  });
  return compact({
    name,
    type,
    eds_service_name,
    aggregate_clusters,
    load_assignment: la && type !== 'EDS' && type !== 'AGGREGATE' ? clusterLoadAssignment(la, at(path, 'load_assignment')) : undefined,
    connect_timeout,
    lb_policy: lb.policy,
    locality_weighted_lb: localityWeighted || undefined,
    healthy_panic_threshold: optPercent(common, 'healthy_panic_threshold', cp),
    circuit_breakers: cb ? circuitBreakers(cb, at(path, 'circuit_breakers')) : undefined,
    outlier_detection: od ? outlierDetection(od, at(path, 'outlier_detection')) : undefined,
    transport_socket: ts ? transportSocket(ts, at(path, 'transport_socket')) : undefined,
    transport_socket_matches: tsMatches,
    protocol: proto.protocol,
    max_concurrent_streams: proto.max_concurrent_streams,
    idle_timeout: proto.idle_timeout,
    max_requests_per_connection: proto.max_requests_per_connection || undefined,
    metadata: optMetadata(o, 'metadata', path),
    lrs_server: o['lrs_server'] !== undefined ? true : undefined,
    ignore_health_on_host_removal: optBool(o, 'ignore_health_on_host_removal', path),
  });
}

/** CDS: envoy.config.cluster.v3.Cluster. */
export const ClusterResource: ResourceType<Cluster> = defineResourceType({
  typeUrl: CLUSTER_TYPE_URL,
  shortName: 'CDS',
  allResourcesRequiredInSotW: true,
  nameField: 'name',
  validate: (o) => cluster(o),
  decodeWire: decodeClusterWire,
});
