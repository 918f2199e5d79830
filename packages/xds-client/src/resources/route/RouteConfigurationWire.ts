import type { HeaderMatcher, RegexMatcher, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost } from '../model.js';
import { LIMITS } from '../Limits.js';
import { freezeModel, frozen } from '../DeepFreeze.js';
import { NO_ENTRIES, NO_ITEMS } from '../common/SharedEmpties.js';
import { headerMatcher, regexMatcher } from '../common/Matchers.js';
import { headerMatcherObject, regexMatcherObject } from '../common/MatchersWire.js';
import { routeAction as validRouteAction } from './RouteAction.js';
import { retryPolicyObject, weightedClustersObject } from './RouteActionWire.js';
import { LEN, boolValue, durationObject, giveUp, lengthEnd, string, readWhole, validated, varint, type Cursor } from '../common/WireCursor.js';

/**
 * One-pass decode of the common RouteConfiguration shape straight from the wire into the model,
 * for the large route tables of a mesh (10,000 routes in the config-scale benchmark), where the
 * general path (protobufjs decode, toObject, validate) builds every route three times.
 *
 * Only a route configuration made of what the fast path knows is taken: name and virtual_hosts;
 * virtual hosts of name, domains and routes; routes of name, a match that is one prefix, path or
 * safe_regex with an optional case_sensitive and header matchers, and a route action that is one
 * cluster or weighted clusters, with an optional timeout and retry policy. Anything else (header
 * mutations, per-filter config, hash policies, unknown fields...) and anything invalid returns
 * undefined, and the caller takes the general path, which owns every validation message. The
 * less common parts (header and regex matchers, weighted clusters, retry policies) are read into
 * object form and checked by the general path's own validators (MatchersWire, RouteActionWire),
 * so that a mesh's route table, which nearly always has some, does not need protobufjs and the
 * generated codecs of every route type (footprint, BENCHMARKS.md). So for any input this returns
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

/**
 * RouteMatch: prefix (1), path (2) or safe_regex (10), exactly one; case_sensitive (4, BoolValue);
 * headers (6).
 */
function routeMatch(r: Cursor, end: number): RouteMatch {
  let prefix: string | undefined;
  let path: string | undefined;
  let regex: Record<string, unknown> | undefined;
  let headers: Record<string, unknown>[] | undefined;
  let caseSensitive = true;
  let caseSeen = false;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) prefix = string(r, end);
    else if (tag === ((2 << 3) | LEN)) path = string(r, end);
    else if (tag === ((4 << 3) | LEN) && !caseSeen) {
      caseSeen = true;
      caseSensitive = boolValue(r, lengthEnd(r, end));
    } else if (tag === ((6 << 3) | LEN)) (headers ??= []).push(headerMatcherObject(r, lengthEnd(r, end)));
    else if (tag === ((10 << 3) | LEN) && regex === undefined) regex = regexMatcherObject(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end || Number(prefix !== undefined) + Number(path !== undefined) + Number(regex !== undefined) !== 1) giveUp();
  const headerModels = headers === undefined ? NO_ITEMS : frozen(headers.map((h) => freezeModel(validated((): HeaderMatcher => headerMatcher(h, '')))));
  if (prefix !== undefined) return frozen({ prefix, case_sensitive: caseSensitive, headers: headerModels, query_parameters: NO_ITEMS });
  if (path !== undefined) return frozen({ path, case_sensitive: caseSensitive, headers: headerModels, query_parameters: NO_ITEMS });
  const safe_regex = freezeModel(validated((): RegexMatcher => regexMatcher(regex, '')));
  return frozen({ safe_regex, case_sensitive: caseSensitive, headers: headerModels, query_parameters: NO_ITEMS });
}

/**
 * RouteAction: a non-empty cluster (1) or weighted_clusters (3), an optional timeout (8) and
 * retry_policy (9). The common one (a cluster and a timeout) is built here, with the shared empty
 * hash policy list; weighted clusters or a retry policy go to the general path's validator.
 */
function routeAction(r: Cursor, end: number): RouteAction {
  let cluster: string | undefined;
  let timeout: { seconds?: number; nanos?: number } | undefined;
  let weighted: Record<string, unknown> | undefined;
  let retry: Record<string, unknown> | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) cluster = string(r, end);
    else if (tag === ((8 << 3) | LEN) && timeout === undefined) timeout = durationObject(r, lengthEnd(r, end));
    else if (tag === ((3 << 3) | LEN) && weighted === undefined) weighted = weightedClustersObject(r, lengthEnd(r, end));
    else if (tag === ((9 << 3) | LEN) && retry === undefined) retry = retryPolicyObject(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  if (weighted !== undefined || retry !== undefined) {
    const o: Record<string, unknown> = {};
    if (cluster !== undefined) o['cluster'] = cluster;
    if (weighted !== undefined) o['weighted_clusters'] = weighted;
    if (timeout !== undefined) o['timeout'] = timeout;
    if (retry !== undefined) o['retry_policy'] = retry;
    return freezeModel(validated(() => validRouteAction(o, '')));
  }
  if (cluster === undefined || cluster === '') giveUp();
  if (timeout === undefined) return frozen({ cluster, hash_policy: NO_ITEMS });
  // As ObjectReader.optDurationMs: nanos past a second is malformed.
  const { seconds = 0, nanos = 0 } = timeout;
  if (nanos > 999_999_999) giveUp();
  return frozen({ cluster, timeout: seconds * 1000 + nanos / 1e6, hash_policy: NO_ITEMS });
}
