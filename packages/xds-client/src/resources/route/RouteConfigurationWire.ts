import type { Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost } from '../model.js';
import { LIMITS } from '../Limits.js';
import { frozen } from '../DeepFreeze.js';
import { NO_ENTRIES, NO_ITEMS } from '../common/SharedEmpties.js';
import { LEN, VARINT, durationMs, giveUp, lengthEnd, string, readWhole, varint, type Cursor } from '../common/WireCursor.js';

/**
 * One-pass decode of the common RouteConfiguration shape straight from the wire into the model,
 * for the large route tables of a mesh (10,000 routes in the config-scale benchmark), where the
 * general path (protobufjs decode, toObject, validate) builds every route three times.
 *
 * Only a route configuration made of what the fast path knows is taken: name and virtual_hosts;
 * virtual hosts of name, domains and routes; routes of name, a match that is one prefix or path
 * with an optional case_sensitive, and a route action that is one cluster with an optional
 * timeout. Anything else (header matchers, weighted clusters, retry policies, header mutations,
 * per-filter config, unknown fields...) and anything invalid returns undefined, and the caller
 * takes the general path, which owns every validation message. So for any input this returns
 * either undefined or exactly the model the general path would build (test:
 * route-wire-decode.test.ts). Empty header-mutation lists and per-filter config are the shared
 * frozen ones (SharedEmpties). Outside production each object is frozen as it is made (frozen()),
 * so freezeModel does not walk the 10,000 routes again.
 */
export function decodeRouteConfigurationWire(bytes: Uint8Array): RouteConfiguration | undefined {
  return readWhole(bytes, routeConfiguration);
}

function routeConfiguration(r: Cursor, end: number): RouteConfiguration {
  let name = '';
  const virtualHosts: VirtualHost[] = [];
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) name = string(r, end);
    else if (tag === ((2 << 3) | LEN)) virtualHosts.push(virtualHost(r, lengthEnd(r, end)));
    else giveUp();
  }
  if (r.pos !== end || name === '' || virtualHosts.length > LIMITS.MAX_VIRTUAL_HOSTS) giveUp();
  // Keys in the general path's order, so both paths give objects of one shape.
  return frozen({
    name,
    virtual_hosts: frozen(virtualHosts),
    request_headers_to_add: NO_ITEMS,
    request_headers_to_remove: NO_ITEMS,
    response_headers_to_add: NO_ITEMS,
    response_headers_to_remove: NO_ITEMS,
  });
}

function virtualHost(r: Cursor, end: number): VirtualHost {
  let name = '';
  const domains: string[] = [];
  const routes: Route[] = [];
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) name = string(r, end);
    else if (tag === ((2 << 3) | LEN)) domains.push(domain(r, end));
    else if (tag === ((3 << 3) | LEN)) routes.push(route(r, lengthEnd(r, end)));
    else giveUp();
  }
  if (r.pos !== end || domains.length === 0 || routes.length > LIMITS.MAX_ROUTES_PER_VIRTUAL_HOST) giveUp();
  return frozen({
    name,
    domains: frozen(domains),
    routes: frozen(routes),
    request_headers_to_add: NO_ITEMS,
    request_headers_to_remove: NO_ITEMS,
    response_headers_to_add: NO_ITEMS,
    response_headers_to_remove: NO_ITEMS,
    typed_per_filter_config: NO_ENTRIES,
  });
}

/** A domain the general path accepts: non-empty, at most one wildcard, at the start or the end. */
function domain(r: Cursor, end: number): string {
  const d = string(r, end);
  const first = d.indexOf('*');
  if (d === '' || (first !== -1 && (first !== d.lastIndexOf('*') || (first !== 0 && first !== d.length - 1)))) giveUp();
  return d;
}

function route(r: Cursor, end: number): Route {
  let name = '';
  let match: RouteMatch | undefined;
  let action: RouteAction | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((14 << 3) | LEN)) name = string(r, end);
    else if (tag === ((1 << 3) | LEN) && match === undefined) match = routeMatch(r, lengthEnd(r, end));
    else if (tag === ((2 << 3) | LEN) && action === undefined) action = routeAction(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end || match === undefined || action === undefined) giveUp();
  // An empty name is no name in the general path (optStr || undefined): the key is left out.
  // Keys in the general path's order. Whole literals, not keys added one by one: those would
  // put most of them in a separate property array, one more object per route.
  const model =
    name === ''
      ? { match, route: action, request_headers_to_add: NO_ITEMS, request_headers_to_remove: NO_ITEMS, response_headers_to_add: NO_ITEMS, response_headers_to_remove: NO_ITEMS, typed_per_filter_config: NO_ENTRIES }
      : { name, match, route: action, request_headers_to_add: NO_ITEMS, request_headers_to_remove: NO_ITEMS, response_headers_to_add: NO_ITEMS, response_headers_to_remove: NO_ITEMS, typed_per_filter_config: NO_ENTRIES };
  return frozen(model) as unknown as Route;
}

/** RouteMatch: prefix (1) or path (2), exactly one, and case_sensitive (4, BoolValue). */
function routeMatch(r: Cursor, end: number): RouteMatch {
  let prefix: string | undefined;
  let path: string | undefined;
  let caseSensitive = true;
  let caseSeen = false;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) prefix = string(r, end);
    else if (tag === ((2 << 3) | LEN)) path = string(r, end);
    else if (tag === ((4 << 3) | LEN) && !caseSeen) {
      caseSeen = true;
      caseSensitive = boolValue(r, lengthEnd(r, end));
    } else giveUp();
  }
  if (r.pos !== end || (prefix === undefined) === (path === undefined)) giveUp();
  return frozen(
    prefix !== undefined
      ? { prefix, case_sensitive: caseSensitive, headers: NO_ITEMS, query_parameters: NO_ITEMS }
      : { path, case_sensitive: caseSensitive, headers: NO_ITEMS, query_parameters: NO_ITEMS },
  );
}

/** google.protobuf.BoolValue: an absent value is false. */
function boolValue(r: Cursor, end: number): boolean {
  let value = false;
  while (r.pos < end) {
    if (varint(r) !== ((1 << 3) | VARINT)) giveUp();
    value = varint(r) !== 0;
  }
  if (r.pos !== end) giveUp();
  return value;
}

/** RouteAction: a non-empty cluster (1) and an optional timeout (8). */
function routeAction(r: Cursor, end: number): RouteAction {
  let cluster = '';
  let timeout: number | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) cluster = string(r, end);
    else if (tag === ((8 << 3) | LEN) && timeout === undefined) timeout = durationMs(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end || cluster === '') giveUp();
  return frozen(timeout === undefined ? { cluster, hash_policy: NO_ITEMS } : { cluster, timeout, hash_policy: NO_ITEMS });
}
