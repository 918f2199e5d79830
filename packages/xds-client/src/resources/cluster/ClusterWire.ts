import type { Cluster } from '../model.js';
import { freezeModel, frozen } from '../DeepFreeze.js';
import { NO_ITEMS } from '../common/SharedEmpties.js';
import { LEN, VARINT, durationObject, giveUp, lengthEnd, string, stringLike, readWhole, validated, varint, type Cursor } from '../common/WireCursor.js';
// ClusterResource imports this module too (decodeWire); neither uses the other while loading.
import { cluster as validCluster } from './ClusterResource.js';
import { circuitBreakersObject } from './CircuitBreakersWire.js';
import { outlierDetectionObject } from './OutlierDetectionWire.js';

/**
 * One-pass decode of the common Cluster shape straight from the wire into the model, for the
 * bulk of a CDS push (10,000 clusters in the config-scale benchmark), where the general path
 * (protobufjs decode, toObject, validate) builds each cluster three times.
 *
 * Only an EDS cluster made of what the fast path knows is taken: name; type EDS;
 * eds_cluster_config with service_name and an eds_config that is `ads` plus
 * resource_api_version; connect_timeout; lb_policy ROUND_ROBIN or RANDOM; circuit_breakers and
 * outlier_detection (CircuitBreakersWire, OutlierDetectionWire: a cluster with either is read into
 * object form and built by the general path's validator, so that a mesh's clusters, which nearly
 * always carry them, do not need protobufjs; footprint, BENCHMARKS.md). Anything else (other
 * cluster types, transport sockets, protocol options, metadata, unknown fields...) and anything
 * invalid returns undefined, and the caller
 * takes the general path, which owns every validation message. So for any input this returns
 * either undefined or exactly the model the general path would build (test:
 * cluster-wire-decode.test.ts). Outside production it is frozen as it is made (frozen()), so
 * freezeModel does not walk it again.
 */
export function decodeClusterWire(bytes: Uint8Array): Cluster | undefined {
  return readWhole(bytes, cluster);
}

const TYPE_EDS = 3;
/** Cluster.LbPolicy values the fast path takes; the others need their own config checks. */
const LB_POLICY: readonly (string | undefined)[] = ['ROUND_ROBIN', undefined, undefined, 'RANDOM'];

function cluster(r: Cursor, end: number): Cluster {
  let name = '';
  let type: number | undefined;
  let serviceName: string | undefined;
  let edsSeen = false;
  let connectTimeout: { seconds?: number; nanos?: number } | undefined;
  let lbPolicy: string | undefined;
  let circuitBreakers: Record<string, unknown> | undefined;
  let outlierDetection: Record<string, unknown> | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) name = string(r, end);
    else if (tag === ((2 << 3) | VARINT)) type = varint(r);
    else if (tag === ((3 << 3) | LEN) && !edsSeen) {
      edsSeen = true;
      serviceName = edsClusterConfig(r, lengthEnd(r, end), name);
    } else if (tag === ((4 << 3) | LEN) && connectTimeout === undefined) connectTimeout = durationObject(r, lengthEnd(r, end));
    else if (tag === ((6 << 3) | VARINT)) lbPolicy = LB_POLICY[varint(r)] ?? giveUp();
    else if (tag === ((10 << 3) | LEN) && circuitBreakers === undefined) circuitBreakers = circuitBreakersObject(r, lengthEnd(r, end));
    else if (tag === ((19 << 3) | LEN) && outlierDetection === undefined) outlierDetection = outlierDetectionObject(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end || name === '' || type !== TYPE_EDS) giveUp();
  if (circuitBreakers !== undefined || outlierDetection !== undefined) {
    const o: Record<string, unknown> = { name, type: 'EDS' };
    // The validator reads only service_name from eds_cluster_config; the ConfigSource was checked above.
    if (serviceName !== undefined) o['eds_cluster_config'] = { service_name: serviceName };
    if (connectTimeout !== undefined) o['connect_timeout'] = connectTimeout;
    if (lbPolicy !== undefined) o['lb_policy'] = lbPolicy;
    if (circuitBreakers !== undefined) o['circuit_breakers'] = circuitBreakers;
    if (outlierDetection !== undefined) o['outlier_detection'] = outlierDetection;
    return freezeModel(validated(() => validCluster(o)));
  }
  // PGV: connect_timeout > 0 when set; nanos past a second is malformed (as ObjectReader.optDurationMs).
  const { seconds = 0, nanos = 0 } = connectTimeout ?? {};
  if (nanos > 999_999_999 || (connectTimeout !== undefined && seconds === 0 && nanos === 0)) giveUp();
  // gRFC A27: without service_name the cluster name is the EDS resource name. Keys in the
  // general path's order, so both paths give objects of one shape; whole literals, not keys
  // added one by one (those would go to a separate property array, one more object per cluster).
  const edsServiceName = serviceName || name;
  const lb = frozen({ policy: lbPolicy ?? 'ROUND_ROBIN' });
  const model =
    connectTimeout === undefined
      ? { name, type: 'EDS', eds_service_name: edsServiceName, lb_policy: lb, transport_socket_matches: NO_ITEMS, protocol: 'HTTP1' }
      : { name, type: 'EDS', eds_service_name: edsServiceName, connect_timeout: seconds * 1000 + nanos / 1e6, lb_policy: lb, transport_socket_matches: NO_ITEMS, protocol: 'HTTP1' };
  return frozen(model) as unknown as Cluster;
}

/**
 * EdsClusterConfig { eds_config (1), service_name (2) }: returns service_name, as the string
 * `clusterName` itself when it is the same text (Istio names the EDS resource after the cluster),
 * so that 10,000 clusters do not each keep a second copy of their name.
 */
function edsClusterConfig(r: Cursor, end: number, clusterName: string): string | undefined {
  let serviceName: string | undefined;
  let configSeen = false;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN) && !configSeen) {
      configSeen = true;
      adsConfigSource(r, lengthEnd(r, end));
    } else if (tag === ((2 << 3) | LEN)) serviceName = stringLike(r, end, clusterName);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return serviceName;
}

/** ConfigSource { ads (3): empty AggregatedConfigSource, resource_api_version (6) }, nothing else. */
function adsConfigSource(r: Cursor, end: number): void {
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((3 << 3) | LEN)) {
      if (lengthEnd(r, end) !== r.pos) giveUp();
    } else if (tag === ((6 << 3) | VARINT)) {
      // ApiVersion: AUTO, V2, V3.
      if (varint(r) > 2) giveUp();
    } else giveUp();
  }
  if (r.pos !== end) giveUp();
}
