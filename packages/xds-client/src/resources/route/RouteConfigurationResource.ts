import type { Route, RouteConfiguration, RouteMatch, VirtualHost } from '../model.js';
import { ROUTE_CONFIGURATION_TYPE_URL, type ResourceType } from '../ResourceType.js';
import { fractionalPercent, headerMatcher, headerNames, headerValueOptions, optRegexMatcher, stringMatcher } from '../common/Matchers.js';
import { filterOverrides } from '../common/HttpFilters.js';
import { defineResourceType } from '../common/ResourceDecoding.js';
import { redirectAction, routeAction } from './RouteAction.js';
import { decodeRouteConfigurationWire } from './RouteConfigurationWire.js';
import { retryPolicy } from './RetryPolicy.js';
import { checkCount } from '../Limits.js';
import { asObj, at, compact, fail, list, optBool, optBytes, optMetadata, optObj, optStr, optUint, str, strList, type Obj } from '../common/ObjectReader.js';

/** envoy.config.route.v3.RouteMatch (gRFC A28). */
function routeMatch(o: Obj, path: string): RouteMatch {
  const prefix = optStr(o, 'prefix', path);
  const fullPath = optStr(o, 'path', path);
  const safe_regex = optRegexMatcher(o, 'safe_regex', path);
  const path_separated_prefix = optStr(o, 'path_separated_prefix', path);
  const connect = o['connect_matcher'] !== undefined ? (true as const) : undefined;
  if (o['path_match_policy'] !== undefined) fail(at(path, 'path_match_policy'), 'path_match_policy (URI templates) is not supported');
  const n = [prefix, fullPath, safe_regex, path_separated_prefix, connect].filter((x) => x !== undefined).length;
  if (n !== 1) fail(path, 'exactly one of prefix, path, safe_regex, path_separated_prefix, connect_matcher is required');
  // PGV on path_separated_prefix (route_components.proto): pattern ^[^?#]+[^?#/]$, i.e. at least two
  // characters, no '?' or '#', not ending in '/'. A leading '/' is not required (such a route never matches).
  if (path_separated_prefix !== undefined && !/^[^?#]+[^?#/]$/.test(path_separated_prefix)) {
    fail(at(path, 'path_separated_prefix'), 'must match ^[^?#]+[^?#/]$ (no "?" or "#", not ending in "/")');
  }
  const cs = optObj(o, 'case_sensitive', path);
  const rf = optObj(o, 'runtime_fraction', path);
  let runtime_fraction: RouteMatch['runtime_fraction'];
  if (rf) {
    const rfp = at(path, 'runtime_fraction');
    const dv = optObj(rf, 'default_value', rfp);
    if (!dv) fail(at(rfp, 'default_value'), 'default_value is required');
    runtime_fraction = compact({ default_value: fractionalPercent(dv, at(rfp, 'default_value')), runtime_key: optStr(rf, 'runtime_key', rfp) || undefined });
  }
  if (o['dynamic_metadata'] !== undefined && list(o, 'dynamic_metadata', path).length > 0) fail(at(path, 'dynamic_metadata'), 'dynamic metadata matching is not supported');
  const g = optObj(o, 'grpc', path);
  return compact({
    prefix,
    path: fullPath,
    safe_regex,
    path_separated_prefix,
    connect_matcher: connect,
    // BoolValue, default true.
    case_sensitive: cs ? cs['value'] === true : true,
    runtime_fraction,
    headers: list(o, 'headers', path).map((h, i) => headerMatcher(h, at(at(path, 'headers'), i))),
    query_parameters: list(o, 'query_parameters', path).map((q, i) => {
      const qp = at(at(path, 'query_parameters'), i);
      const qo = asObj(q, qp);
      const name = str(qo, 'name', qp);
      if (name === '') fail(at(qp, 'name'), 'name is required');
      const sm = optObj(qo, 'string_match', qp);
      return compact({ name, string_match: sm ? stringMatcher(sm, at(qp, 'string_match')) : undefined, present_match: optBool(qo, 'present_match', qp) });
    }),
    grpc: g ? (true as const) : undefined,
  });
}

function route(v: unknown, path: string): Route {
  const o = asObj(v, path);
  const m = optObj(o, 'match', path);
  if (!m) fail(at(path, 'match'), 'match is required');
  const r = optObj(o, 'route', path);
  const redirect = optObj(o, 'redirect', path);
  const dr = optObj(o, 'direct_response', path);
  const nfa = o['non_forwarding_action'] !== undefined ? (true as const) : undefined;
  if (o['filter_action'] !== undefined) fail(at(path, 'filter_action'), 'filter_action is not supported');
  const actions = [r, redirect, dr, nfa].filter((x) => x !== undefined).length;
  if (actions !== 1) fail(path, 'exactly one of route, redirect, direct_response, non_forwarding_action is required');
  let direct_response: Route['direct_response'];
  if (dr) {
    const dp = at(path, 'direct_response');
    const status = optUint(dr, 'status', dp) ?? 0;
    if (status < 100 || status >= 600) fail(at(dp, 'status'), 'status must be in [100, 600)');
    const body = optObj(dr, 'body', dp);
    let text: string | undefined;
    if (body) {
      const bp = at(dp, 'body');
      if (body['filename'] !== undefined || body['environment_variable'] !== undefined) fail(bp, 'only inline bodies are supported');
      const bytes = optBytes(body, 'inline_bytes', bp);
      text = bytes ? Buffer.from(bytes).toString('utf8') : optStr(body, 'inline_string', bp);
    }
    direct_response = compact({ status, body: text });
  }
  const dec = optObj(o, 'decorator', path);
  return compact({
    name: optStr(o, 'name', path) || undefined,
    match: routeMatch(m, at(path, 'match')),
    route: r ? routeAction(r, at(path, 'route')) : undefined,
    redirect: redirect ? redirectAction(redirect, at(path, 'redirect')) : undefined,
    direct_response,
    non_forwarding_action: nfa,
    request_headers_to_add: headerValueOptions(o, 'request_headers_to_add', path),
    request_headers_to_remove: headerNames(o, 'request_headers_to_remove', path),
    response_headers_to_add: headerValueOptions(o, 'response_headers_to_add', path),
    response_headers_to_remove: headerNames(o, 'response_headers_to_remove', path),
    typed_per_filter_config: filterOverrides(o, 'typed_per_filter_config', path),
    metadata: optMetadata(o, 'metadata', path),
    decorator: dec ? { operation: str(dec, 'operation', at(path, 'decorator')) } : undefined,
  });
}

function virtualHost(v: unknown, path: string): VirtualHost {
  const o = asObj(v, path);
  // PGV requires a name, but gRPC clients accept unnamed virtual hosts and Traffic Director sends them.
  const name = str(o, 'name', path);
  const domains = strList(o, 'domains', path);
  if (domains.length === 0) fail(at(path, 'domains'), 'at least one domain is required');
  domains.forEach((d, i) => {
    // Envoy (and gRFC A28) allow at most one wildcard, at the start or the end.
    const stars = d.split('*').length - 1;
    if (d === '' || stars > 1 || (stars === 1 && !d.startsWith('*') && !d.endsWith('*'))) fail(at(at(path, 'domains'), i), `invalid domain "${d}"`);
  });
  const rp = optObj(o, 'retry_policy', path);
  const routes = list(o, 'routes', path);
  checkCount(routes.length, at(path, 'routes'), 'the route list', 'MAX_ROUTES_PER_VIRTUAL_HOST');
  return compact({
    name,
    domains,
    routes: routes.map((r, i) => route(r, at(at(path, 'routes'), i))),
    retry_policy: rp ? retryPolicy(rp, at(path, 'retry_policy')) : undefined,
    request_headers_to_add: headerValueOptions(o, 'request_headers_to_add', path),
    request_headers_to_remove: headerNames(o, 'request_headers_to_remove', path),
    response_headers_to_add: headerValueOptions(o, 'response_headers_to_add', path),
    response_headers_to_remove: headerNames(o, 'response_headers_to_remove', path),
    typed_per_filter_config: filterOverrides(o, 'typed_per_filter_config', path),
    include_request_attempt_count: optBool(o, 'include_request_attempt_count', path),
  });
}

/** envoy.config.route.v3.RouteConfiguration -> model (also used for HCM inline route_config). */
export function routeConfiguration(o: Obj, path = ''): RouteConfiguration {
  const ipm = optBool(o, 'ignore_port_in_host_matching', path);
  const vhosts = list(o, 'virtual_hosts', path);
  checkCount(vhosts.length, at(path, 'virtual_hosts'), 'the virtual host list', 'MAX_VIRTUAL_HOSTS');
  return compact({
    name: str(o, 'name', path),
    virtual_hosts: vhosts.map((vh, i) => virtualHost(vh, at(at(path, 'virtual_hosts'), i))),
    request_headers_to_add: headerValueOptions(o, 'request_headers_to_add', path),
    request_headers_to_remove: headerNames(o, 'request_headers_to_remove', path),
    response_headers_to_add: headerValueOptions(o, 'response_headers_to_add', path),
    response_headers_to_remove: headerNames(o, 'response_headers_to_remove', path),
    ignore_port_in_host_matching: ipm,
  });
}

/** RDS: envoy.config.route.v3.RouteConfiguration. */
export const RouteConfigurationResource: ResourceType<RouteConfiguration> = defineResourceType({
  typeUrl: ROUTE_CONFIGURATION_TYPE_URL,
  shortName: 'RDS',
  allResourcesRequiredInSotW: false,
  nameField: 'name',
  validate: (o) => routeConfiguration(o),
  decodeWire: decodeRouteConfigurationWire,
});
