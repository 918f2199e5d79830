import type { ClusterLoadAssignment, HealthStatus, LbEndpoint, Locality, LocalityLbEndpoints, SocketAddress } from '../model.js';
import { frozen } from '../DeepFreeze.js';
import { NO_ITEMS } from '../common/SharedEmpties.js';
import { LEN, VARINT, giveUp, lengthEnd, string, readWhole, varint, wrappedUint, type Cursor } from '../common/WireCursor.js';
import { deferredAssignment } from './DeferredEndpoints.js';

const HEALTH: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];
/** The policy of every assignment without an overprovisioning factor: one frozen object, not one per CLA. */
const DEFAULT_POLICY: ClusterLoadAssignment['policy'] = Object.freeze({ drop_overloads: NO_ITEMS });

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
 * The bytes are checked in full here, but the endpoints are built when first read
 * (DeferredEndpoints.ts): most of a large push's clusters are never picked from.
 *
 * Outside production the model is deep-frozen as it is built (each object once, when made), so
 * freezeModel finds it frozen and does not walk its 100,000 endpoints again; a fast path that
 * gives up leaves behind only objects nobody holds.
 */
export function decodeClusterLoadAssignmentWire(bytes: Uint8Array): ClusterLoadAssignment | undefined {
  return readWhole(bytes, checkedCla);
}

/** The whole assignment checked, its endpoints deferred. */
function checkedCla(r: Cursor, end: number): ClusterLoadAssignment {
  return cla(r, end, false);
}

/** The whole assignment built. */
function builtCla(r: Cursor, end: number): ClusterLoadAssignment {
  return cla(r, end, true);
}

/** The endpoints of bytes checkedCla accepted (DeferredEndpoints calls this at the first read). */
function readEndpoints(bytes: Uint8Array): readonly LocalityLbEndpoints[] {
  const built = readWhole(bytes, builtCla);
  // The same reader accepted these bytes when they arrived: only a changed buffer gets here.
  if (built === undefined) throw new Error('ClusterLoadAssignment bytes changed after they were checked');
  return built.endpoints;
}

/**
 * Reads a ClusterLoadAssignment, applying every check either way. `build` false: the lb_endpoints
 * are checked but not made (each locality's list is left empty), and the result defers them to
 * readEndpoints.
 */
function cla(r: Cursor, end: number, build: boolean): ClusterLoadAssignment {
  let clusterName = '';
  const endpoints: LocalityLbEndpoints[] = [];
  let opf: number | undefined;
  let policySeen = false;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) clusterName = string(r, end);
    else if (tag === ((2 << 3) | LEN)) endpoints.push(localityLbEndpoints(r, lengthEnd(r, end), build));
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
  const assignmentPolicy = opf === undefined || opf === 0 ? DEFAULT_POLICY : frozen({ overprovisioning_factor: opf, drop_overloads: NO_ITEMS });
  if (!build) return deferredAssignment(clusterName, assignmentPolicy, r.buf, readEndpoints);
  return frozen({ cluster_name: clusterName, endpoints: frozen(endpoints), policy: assignmentPolicy });
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

function localityLbEndpoints(r: Cursor, end: number, build: boolean): LocalityLbEndpoints {
  let locality: Locality | undefined;
  const lbEndpoints: LbEndpoint[] = [];
  let weight: number | undefined;
  let priority: number | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN) && locality === undefined) locality = localityOf(r, lengthEnd(r, end));
    else if (tag === ((2 << 3) | LEN)) {
      const ep = lbEndpoint(r, lengthEnd(r, end), build);
      if (ep !== undefined) lbEndpoints.push(ep);
    } else if (tag === ((3 << 3) | LEN) && weight === undefined) weight = wrappedUint(r, end);
    else if (tag === ((5 << 3) | VARINT)) priority = varint(r);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  const loc = locality ?? frozen({ region: '', zone: '', sub_zone: '' });
  const list = build ? frozen(lbEndpoints) : NO_ITEMS;
  return frozen(
    weight === undefined
      ? { locality: loc, lb_endpoints: list, priority: priority ?? 0 }
      : { locality: loc, lb_endpoints: list, load_balancing_weight: weight, priority: priority ?? 0 },
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

/** The endpoint, or undefined when only checking (`build` false). */
function lbEndpoint(r: Cursor, end: number, build: boolean): LbEndpoint | undefined {
  let address: SocketAddress | undefined;
  let seen = false;
  let health: HealthStatus = 'UNKNOWN';
  let weight: number | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN) && !seen) {
      seen = true;
      address = endpointAddress(r, lengthEnd(r, end), build);
    }
    else if (tag === ((2 << 3) | VARINT)) health = HEALTH[varint(r)] ?? giveUp();
    else if (tag === ((4 << 3) | LEN) && weight === undefined) weight = wrappedUint(r, end);
    else giveUp();
  }
  // PGV: load_balancing_weight >= 1 when set.
  if (r.pos !== end || !seen || weight === 0) giveUp();
  return address === undefined ? undefined : frozen({ address, additional_addresses: NO_ITEMS, health_status: health, load_balancing_weight: weight ?? 1 });
}

/** Endpoint { address (1): Address { socket_address (1) } }; undefined when only checking. */
function endpointAddress(r: Cursor, end: number, build: boolean): SocketAddress | undefined {
  let address: SocketAddress | undefined;
  let seen = false;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag !== ((1 << 3) | LEN) || seen) giveUp();
    const addrEnd = lengthEnd(r, end);
    while (r.pos < addrEnd) {
      const t = varint(r);
      if (t !== ((1 << 3) | LEN) || seen) giveUp();
      seen = true;
      address = socketAddress(r, lengthEnd(r, addrEnd), build);
    }
    if (r.pos !== addrEnd) giveUp();
  }
  if (r.pos !== end || !seen) giveUp();
  return address;
}

/** The socket address, or undefined when only checking (then its address text is not made into a string). */
function socketAddress(r: Cursor, end: number, build: boolean): SocketAddress | undefined {
  let protocol: number | undefined;
  let address = '';
  let hasAddress = false;
  let port = 0;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | VARINT)) protocol = varint(r);
    else if (tag === ((2 << 3) | LEN)) {
      if (build) {
        address = string(r, end);
        hasAddress = address !== '';
      } else {
        // Any bytes decode to a non-empty string: only the length matters to the check.
        const e = lengthEnd(r, end);
        hasAddress = e > r.pos;
        r.pos = e;
      }
    } else if (tag === ((3 << 3) | VARINT)) port = varint(r);
    else giveUp();
  }
  if (r.pos !== end || !hasAddress || port > 65535 || (protocol !== undefined && protocol > 1)) giveUp();
  if (!build) return undefined;
  const built: SocketAddress = protocol === undefined ? { address, port_value: port } : { address, port_value: port, protocol: protocol === 0 ? 'TCP' : 'UDP' };
  return frozen(built);
}
