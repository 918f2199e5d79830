import type { HttpConnectionManager } from '../model.js';
import { LEN, VARINT, boolValue, giveUp, lengthEnd, readWhole, string, validated, varint, type Cursor, type ObjectForm } from '../common/WireCursor.js';
import { httpConnectionManager } from './HttpConnectionManager.js';

const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
/** The filter names httpFilter also accepts without typed_config, meaning the router (HttpFilters.ts). */
const ROUTER_NAMES: ReadonlySet<string> = new Set(['envoy.filters.http.router', 'envoy.router']);

/**
 * One-pass decode of the HttpConnectionManager an api_listener (or a filter chain) carries, in
 * its common client-side shape: stat_prefix (2), rds (3) over ADS or self, http_filters (5)
 * that are the router, with an empty Router config, and generate_request_id (15). It is read into object form and built by the
 * general path's validator (HttpConnectionManager.ts); the router filter goes without its empty
 * typed_config, under the name that means the router to the validator, which gives it the same
 * model. So neither the HCM nor the Router needs protobufjs and the generated codecs of their
 * messages (footprint, BENCHMARKS.md). Anything else (other filters, a non-empty Router, inline
 * route_config, other HCM fields, unknown fields) returns undefined, and the caller decodes the
 * Any in general (test: listener-wire-decode.test.ts).
 */
export function decodeHttpConnectionManagerWire(bytes: Uint8Array): HttpConnectionManager | undefined {
  return readWhole(bytes, (r, end) => {
    const o = hcmObject(r, end);
    return validated(() => httpConnectionManager(o, ''));
  });
}

function hcmObject(r: Cursor, end: number): ObjectForm {
  const filters: ObjectForm[] = [];
  const o: ObjectForm = { http_filters: filters };
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((2 << 3) | LEN)) o['stat_prefix'] = string(r, end);
    else if (tag === ((3 << 3) | LEN) && o['rds'] === undefined) o['rds'] = rdsObject(r, lengthEnd(r, end));
    else if (tag === ((5 << 3) | LEN)) filters.push(routerFilterObject(r, lengthEnd(r, end)));
    else if (tag === ((15 << 3) | LEN) && o['generate_request_id'] === undefined) o['generate_request_id'] = { value: boolValue(r, lengthEnd(r, end)) };
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}

/** Rds: config_source (1), route_config_name (2). */
function rdsObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((2 << 3) | LEN)) o['route_config_name'] = string(r, end);
    else if (tag === ((1 << 3) | LEN) && o['config_source'] === undefined) o['config_source'] = configSourceObject(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}

/** ConfigSource of ads (3) or self (5), each empty, and resource_api_version (6); nothing else. */
function configSourceObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((3 << 3) | LEN) || tag === ((5 << 3) | LEN)) {
      if (lengthEnd(r, end) !== r.pos) giveUp();
      o[tag >>> 3 === 3 ? 'ads' : 'self'] = {};
    } else if (tag === ((6 << 3) | VARINT)) {
      // ApiVersion: AUTO, V2, V3 (the validator does not read it).
      if (varint(r) > 2) giveUp();
    } else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}

/** HttpFilter: name (1), typed_config (4) an empty Router, is_optional (6); the router's object form without it. */
function routerFilterObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  let router = false;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) o['name'] = string(r, end);
    else if (tag === ((4 << 3) | LEN) && !router) {
      router = true;
      emptyRouterAny(r, lengthEnd(r, end));
    } else if (tag === ((6 << 3) | VARINT)) o['is_optional'] = varint(r) !== 0;
    else giveUp();
  }
  if (r.pos !== end || !router || !ROUTER_NAMES.has(o['name'] as string)) giveUp();
  return o;
}

/** google.protobuf.Any of the Router type with an empty (or absent) value. */
function emptyRouterAny(r: Cursor, end: number): void {
  let typeUrl: string | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) typeUrl = string(r, end);
    else if (tag === ((2 << 3) | LEN)) {
      if (lengthEnd(r, end) !== r.pos) giveUp();
    } else giveUp();
  }
  if (r.pos !== end || typeUrl !== ROUTER_TYPE_URL) giveUp();
}
