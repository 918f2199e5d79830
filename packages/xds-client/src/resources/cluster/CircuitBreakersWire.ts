import { LEN, VARINT, giveUp, lengthEnd, varint, wrappedUintObject, type Cursor, type ObjectForm } from '../common/WireCursor.js';

/** RoutingPriority by number, as protobufjs's toObject names it (enums: String). */
const PRIORITIES: readonly string[] = ['DEFAULT', 'HIGH'];

/**
 * envoy.config.cluster.v3.CircuitBreakers, read into the object form protobufjs's toObject gives,
 * for the one-pass CDS decoder, which hands it to the general path's validator: thresholds (1) and
 * per_host_thresholds (2), each of priority (1), max_connections (2), max_pending_requests (3),
 * max_requests (4), max_retries (5) and track_remaining (6). Anything else (retry_budget,
 * max_connection_pools, unknown fields, a wrapper set twice) gives up.
 */
export function circuitBreakersObject(r: Cursor, end: number): ObjectForm {
  const thresholds: ObjectForm[] = [];
  const perHost: ObjectForm[] = [];
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) thresholds.push(thresholdsObject(r, lengthEnd(r, end)));
    else if (tag === ((2 << 3) | LEN)) perHost.push(thresholdsObject(r, lengthEnd(r, end)));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return { thresholds, per_host_thresholds: perHost };
}

const LIMITS: readonly (string | undefined)[] = [undefined, undefined, 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries'];

function thresholdsObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    const limit = (tag & 7) === LEN ? LIMITS[tag >>> 3] : undefined;
    if (limit !== undefined) {
      if (o[limit] !== undefined) giveUp();
      o[limit] = wrappedUintObject(r, end);
    } else if (tag === ((1 << 3) | VARINT)) o['priority'] = PRIORITIES[varint(r)] ?? giveUp();
    else if (tag === ((6 << 3) | VARINT)) o['track_remaining'] = varint(r) !== 0;
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}
