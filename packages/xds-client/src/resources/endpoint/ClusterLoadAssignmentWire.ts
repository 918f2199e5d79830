import type { ClusterLoadAssignment, HealthStatus, LbEndpoint, Locality, LocalityLbEndpoints, SocketAddress } from '../model.js';
import { frozen } from '../DeepFreeze.js';
import { NO_ITEMS } from '../common/SharedEmpties.js';
import { LEN, VARINT, giveUp, lengthEnd, string, readWhole, varint, wrappedUint, type Cursor } from '../common/WireCursor.js';

const HEALTH: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];

/**
 * One-pass decode of the common ClusterLoadAssignment shape straight from the wire into the
 * model, for the bulk of an EDS push (100,000 endpoints in the config-scale benchmark). The
 * general path decodes with protobufjs, converts to a plain object, then validates; that
 * materialises every endpoint three times.
 *
 * Only a CLA made of what the fast path knows is taken: cluster_name; endpoints with locality,
 * lb_endpoints, load_balancing_weight and priority; lb_endpoints with a socket_address endpoint
 * (address, port_value, protocol), health_status and load_balancing_weight; policy with
 * overprovisioning_factor. Anything else (metadata, hostnames, additional addresses, drop
 * overloads, unknown fields...) and anything invalid returns undefined, and the caller takes
 * the general path, which owns every validation message. So for any input this returns either
 * undefined or exactly the model the general path would build (test: cla-wire-decode.test.ts).
 *
 * Outside production the model is deep-frozen as it is built (each object once, when made), so
 * freezeModel finds it frozen and does not walk its 100,000 endpoints again; a fast path that
 * gives up leaves behind only objects nobody holds.
 */
export function decodeClusterLoadAssignmentWire(bytes: Uint8Array): ClusterLoadAssignment | undefined {
  return readWhole(bytes, cla);
}

function cla(r: Cursor, end: number): ClusterLoadAssignment {
  let clusterName = '';
  const endpoints: LocalityLbEndpoints[] = [];
  let opf: number | undefined;
  let policySeen = false;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) clusterName = string(r, end);
    else if (tag === ((2 << 3) | LEN)) endpoints.push(localityLbEndpoints(r, lengthEnd(r, end)));
    else if (tag === ((4 << 3) | LEN) && !policySeen) {
      policySeen = true;
      opf = policy(r, lengthEnd(r, end));
    } else giveUp();
  }
  if (r.pos !== end || clusterName === '') giveUp();
  // gRFC A27: contiguous priorities from 0, and no locality twice in one priority. One locality
  // (nearly every CLA) only has to be priority 0: no sets and keys for 10,000 CLAs.
  if (endpoints.length === 1) {
    if (endpoints[0]!.priority !== 0) giveUp();
  } else if (endpoints.length > 1) {
    const priorities = new Set<number>();
    const seen = new Set<string>();
    for (const e of endpoints) {
      priorities.add(e.priority);
      const key = `${e.priority}\u0000${e.locality.region}\u0000${e.locality.zone}\u0000${e.locality.sub_zone}`;
      if (seen.has(key)) giveUp();
      seen.add(key);
    }
    for (let p = 0; p < priorities.size; p++) if (!priorities.has(p)) giveUp();
  }
  return frozen({
    cluster_name: clusterName,
    endpoints: frozen(endpoints),
    policy: frozen(opf === undefined || opf === 0 ? { drop_overloads: NO_ITEMS } : { overprovisioning_factor: opf, drop_overloads: NO_ITEMS }),
  });
}


/** ClusterLoadAssignment.Policy: overprovisioning_factor (3) only. */
function policy(r: Cursor, end: number): number | undefined {
  let opf: number | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((3 << 3) | LEN) && opf === undefined) opf = wrappedUint(r, end);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return opf;
}

function localityLbEndpoints(r: Cursor, end: number): LocalityLbEndpoints {
  let locality: Locality | undefined;
  const lbEndpoints: LbEndpoint[] = [];
  let weight: number | undefined;
  let priority: number | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN) && locality === undefined) locality = localityOf(r, lengthEnd(r, end));
    else if (tag === ((2 << 3) | LEN)) lbEndpoints.push(lbEndpoint(r, lengthEnd(r, end)));
    else if (tag === ((3 << 3) | LEN) && weight === undefined) weight = wrappedUint(r, end);
    else if (tag === ((5 << 3) | VARINT)) priority = varint(r);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  const loc = locality ?? frozen({ region: '', zone: '', sub_zone: '' });
  return frozen(
    weight === undefined
      ? { locality: loc, lb_endpoints: frozen(lbEndpoints), priority: priority ?? 0 }
      : { locality: loc, lb_endpoints: frozen(lbEndpoints), load_balancing_weight: weight, priority: priority ?? 0 },
  );
}

function localityOf(r: Cursor, end: number): Locality {
  let region = '';
  let zone = '';
  let subZone = '';
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) region = string(r, end);
    else if (tag === ((2 << 3) | LEN)) zone = string(r, end);
    else if (tag === ((3 << 3) | LEN)) subZone = string(r, end);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return frozen({ region, zone, sub_zone: subZone });
}

function lbEndpoint(r: Cursor, end: number): LbEndpoint {
  let address: SocketAddress | undefined;
  let health: HealthStatus = 'UNKNOWN';
  let weight: number | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN) && address === undefined) address = endpointAddress(r, lengthEnd(r, end));
    else if (tag === ((2 << 3) | VARINT)) health = HEALTH[varint(r)] ?? giveUp();
    else if (tag === ((4 << 3) | LEN) && weight === undefined) weight = wrappedUint(r, end);
    else giveUp();
  }
  // PGV: load_balancing_weight >= 1 when set.
  if (r.pos !== end || address === undefined || weight === 0) giveUp();
  return frozen({ address, additional_addresses: NO_ITEMS, health_status: health, load_balancing_weight: weight ?? 1 });
}

/** Endpoint { address (1): Address { socket_address (1) } }. */
function endpointAddress(r: Cursor, end: number): SocketAddress {
  let address: SocketAddress | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag !== ((1 << 3) | LEN) || address !== undefined) giveUp();
    const addrEnd = lengthEnd(r, end);
    while (r.pos < addrEnd) {
      const t = varint(r);
      if (t !== ((1 << 3) | LEN) || address !== undefined) giveUp();
      address = socketAddress(r, lengthEnd(r, addrEnd));
    }
    if (r.pos !== addrEnd) giveUp();
  }
  if (r.pos !== end || address === undefined) giveUp();
  return address;
}

function socketAddress(r: Cursor, end: number): SocketAddress {
  let protocol: number | undefined;
  let address = '';
  let port = 0;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | VARINT)) protocol = varint(r);
    else if (tag === ((2 << 3) | LEN)) address = string(r, end);
    else if (tag === ((3 << 3) | VARINT)) port = varint(r);
    else giveUp();
  }
  if (r.pos !== end || address === '' || port > 65535 || (protocol !== undefined && protocol > 1)) giveUp();
  return frozen(protocol === undefined ? { address, port_value: port } : { address, port_value: port, protocol: protocol === 0 ? 'TCP' : 'UDP' });
}
