import { headerMatcherObject } from '../common/MatchersWire.js';
import { LEN, VARINT, durationObject, giveUp, lengthEnd, string, varint, wrappedUintObject, type Cursor, type ObjectForm } from '../common/WireCursor.js';

/**
 * Wire readers of the RouteAction parts a mesh route commonly carries beyond one cluster
 * (weighted clusters, a retry policy) into the object form protobufjs's toObject gives, for the
 * one-pass RDS decoder, which hands them to the general path's validator (RouteAction.ts,
 * RetryPolicy.ts). Only the fields listed are taken; anything else (header mutations and
 * per-filter config on a weighted cluster, typed retry extensions, rate-limited back-off,
 * unknown fields, a message field set twice) gives up, and the general path decodes the resource.
 */

/** WeightedCluster: clusters (1), runtime_key_prefix (2), total_weight (3). */
export function weightedClustersObject(r: Cursor, end: number): ObjectForm {
  const clusters: ObjectForm[] = [];
  const o: ObjectForm = { clusters };
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) clusters.push(clusterWeightObject(r, lengthEnd(r, end)));
    else if (tag === ((2 << 3) | LEN)) o['runtime_key_prefix'] = string(r, end);
    else if (tag === ((3 << 3) | LEN) && o['total_weight'] === undefined) o['total_weight'] = wrappedUintObject(r, end);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}

/** WeightedCluster.ClusterWeight: name (1), weight (2), host_rewrite_literal (11). */
function clusterWeightObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) o['name'] = string(r, end);
    else if (tag === ((2 << 3) | LEN) && o['weight'] === undefined) o['weight'] = wrappedUintObject(r, end);
    else if (tag === ((11 << 3) | LEN)) o['host_rewrite_literal'] = string(r, end);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}

/**
 * RetryPolicy: retry_on (1), num_retries (2), per_try_timeout (3), retry_priority (4) and
 * retry_host_predicate (5) by name only, host_selection_retry_max_attempts (6),
 * retriable_status_codes (7, packed or not), retry_back_off (8), retriable_headers (9),
 * retriable_request_headers (10), per_try_idle_timeout (13).
 */
export function retryPolicyObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  const once = (key: string): void => {
    if (o[key] !== undefined) giveUp();
  };
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) o['retry_on'] = string(r, end);
    else if (tag === ((2 << 3) | LEN)) {
      once('num_retries');
      o['num_retries'] = wrappedUintObject(r, end);
    } else if (tag === ((3 << 3) | LEN)) {
      once('per_try_timeout');
      o['per_try_timeout'] = durationObject(r, lengthEnd(r, end));
    } else if (tag === ((13 << 3) | LEN)) {
      once('per_try_idle_timeout');
      o['per_try_idle_timeout'] = durationObject(r, lengthEnd(r, end));
    } else if (tag === ((4 << 3) | LEN)) {
      once('retry_priority');
      o['retry_priority'] = namedExtensionObject(r, lengthEnd(r, end));
    } else if (tag === ((5 << 3) | LEN)) push(o, 'retry_host_predicate', namedExtensionObject(r, lengthEnd(r, end)));
    // int64: a negative or 33-bit-plus value is a longer varint, which varint() gives up on.
    else if (tag === ((6 << 3) | VARINT)) o['host_selection_retry_max_attempts'] = varint(r);
    else if (tag === ((7 << 3) | VARINT)) push(o, 'retriable_status_codes', varint(r));
    else if (tag === ((7 << 3) | LEN)) {
      const e = lengthEnd(r, end);
      while (r.pos < e) push(o, 'retriable_status_codes', varint(r));
      if (r.pos !== e) giveUp();
    } else if (tag === ((8 << 3) | LEN)) {
      once('retry_back_off');
      o['retry_back_off'] = retryBackOffObject(r, lengthEnd(r, end));
    } else if (tag === ((9 << 3) | LEN)) push(o, 'retriable_headers', headerMatcherObject(r, lengthEnd(r, end)));
    else if (tag === ((10 << 3) | LEN)) push(o, 'retriable_request_headers', headerMatcherObject(r, lengthEnd(r, end)));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}

/** Appends to a repeated field of the object form. */
function push(o: ObjectForm, key: string, item: unknown): void {
  const items = o[key] as unknown[] | undefined;
  if (items === undefined) o[key] = [item];
  else items.push(item);
}

/** RetryPolicy.RetryHostPredicate / RetryPriority: name (1); a typed_config (3) gives up. */
function namedExtensionObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    if (varint(r) !== ((1 << 3) | LEN)) giveUp();
    o['name'] = string(r, end);
  }
  if (r.pos !== end) giveUp();
  return o;
}

/** RetryPolicy.RetryBackOff: base_interval (1), max_interval (2). */
function retryBackOffObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    const key = tag === ((1 << 3) | LEN) ? 'base_interval' : tag === ((2 << 3) | LEN) ? 'max_interval' : giveUp();
    if (o[key] !== undefined) giveUp();
    o[key] = durationObject(r, lengthEnd(r, end));
  }
  if (r.pos !== end) giveUp();
  return o;
}
