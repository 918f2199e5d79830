import type { SpecNode } from './SpecNode.js';
import { durationObject, typedConfig, type ProtoObject } from './ProtoObjects.js';
import { translateFault } from './FaultTranslator.js';
import { mergeHeaderOperations, translateHeaderOperations } from './HeaderOperationsTranslator.js';
import { istioDefaultRetryPolicy, translateRetries } from './RetryPolicyTranslator.js';
import { translateRouteMatch } from './RouteMatchTranslator.js';

/** What a route destination resolves to: its cluster and the hash policy of its DestinationRule. */
export interface ResolvedDestination {
  readonly cluster: string;
  readonly hashPolicy: readonly ProtoObject[] | undefined;
}

/** Looks up `destination` (host, subset, port) against the ServiceEntries and DestinationRules, reporting what is missing. */
export type DestinationResolver = (destination: SpecNode, listenerPort: number) => ResolvedDestination | undefined;

const REDIRECT_CODES: Readonly<Record<number, string>> = {
  301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT',
};

/** The HTTPRoute fields Meshlet reads, and those it refuses or ignores. */
const HTTP_ROUTE_FIELDS = ['name', 'match', 'route', 'redirect', 'directResponse', 'rewrite', 'timeout', 'retries', 'fault', 'headers'];
const HTTP_ROUTE_NOTES = {
  unsupported: {
    mirror: 'traffic mirroring is not implemented; remove it (requests would otherwise silently not be mirrored)',
    mirrors: 'traffic mirroring is not implemented; remove it',
    mirrorPercentage: 'traffic mirroring is not implemented; remove it',
    mirrorPercent: 'traffic mirroring is not implemented; remove it',
    mirror_percent: 'traffic mirroring is not implemented; remove it',
    delegate: 'delegate VirtualServices are only for gateways',
  },
  ignored: { corsPolicy: 'CORS is enforced by browsers against the server; Meshlet clients do not apply it' },
};

/**
 * One Istio HTTPRoute as Envoy routes for the virtual host of `listenerPort`:
 * one route per match (in order; first match wins, as in Envoy), all sharing
 * the action. Mirrors istiod's translateRoute for the fields listed above.
 */
export function translateHttpRoute(node: SpecNode, listenerPort: number, resolve: DestinationResolver): ProtoObject[] {
  if (!node.checkFields(HTTP_ROUTE_FIELDS, HTTP_ROUTE_NOTES)) return [];
  const action = translateAction(node, listenerPort, resolve);
  if (!action) return [];
  const routeName = node.field('name').string();
  const matches = node.field('match').items();
  const out: ProtoObject[] = [];
  if (matches.length === 0) {
    out.push(withName({ match: translateRouteMatch(undefined), ...action }, routeName, undefined));
    return out;
  }
  for (const m of matches) {
    // A match bound to another port applies to that port's listener only (istiod does the same).
    const port = m.field('port').number({ integer: true, min: 1, max: 65535 });
    const match = translateRouteMatch(m);
    if (port !== undefined && port !== listenerPort) continue;
    if (!match) continue;
    out.push(withName({ match, ...action }, routeName, m.field('name').string()));
  }
  return out;
}

function withName(route: ProtoObject, routeName: string | undefined, matchName: string | undefined): ProtoObject {
  const name = routeName && matchName ? `${routeName}.${matchName}` : (routeName ?? matchName);
  return name ? { name, ...route } : route;
}

/** Everything but the match: route / redirect / direct_response, header mutations, fault. */
function translateAction(node: SpecNode, listenerPort: number, resolve: DestinationResolver): ProtoObject | undefined {
  const destinations = node.field('route');
  const redirect = node.field('redirect');
  const direct = node.field('directResponse');
  const kinds = [destinations, redirect, direct].filter((n) => n.present);
  if (kinds.length === 0) {
    node.error('an HTTP route needs route (destinations), redirect or directResponse');
    return undefined;
  }
  if (kinds.length > 1) {
    node.error('set only one of route, redirect, directResponse');
    return undefined;
  }
  const out: ProtoObject = {};
  let headerOps = translateHeaderOperations(node.field('headers'));

  if (redirect.present) {
    const r = translateRedirect(redirect);
    if (!r) return undefined;
    out['redirect'] = r;
    for (const f of ['rewrite', 'retries', 'timeout'] as const) if (node.field(f).present) node.field(f).warn(`ignored: ${f} has no effect on a redirect`, 'key');
  } else if (direct.present) {
    const d = translateDirectResponse(direct);
    if (!d) return undefined;
    out['direct_response'] = d;
    for (const f of ['rewrite', 'retries', 'timeout'] as const) if (node.field(f).present) node.field(f).warn(`ignored: ${f} has no effect on a direct response`, 'key');
  } else {
    const r = translateRouteAction(node, listenerPort, resolve);
    if (!r) return undefined;
    out['route'] = r.action;
    headerOps = mergeHeaderOperations(headerOps, r.singleDestinationHeaders);
  }
  Object.assign(out, headerOps);
  const fault = translateFault(node.field('fault'));
  if (fault) {
    out['typed_per_filter_config'] = {
      'envoy.filters.http.fault': typedConfig('envoy.extensions.filters.http.fault.v3.HTTPFault', fault),
    };
  }
  return out;
}

function translateRouteAction(
  node: SpecNode,
  listenerPort: number,
  resolve: DestinationResolver,
): { action: ProtoObject; singleDestinationHeaders: ProtoObject } | undefined {
  const routeNode = node.field('route');
  const items = routeNode.items();
  if (items.length === 0) {
    routeNode.error('route needs at least one destination');
    return undefined;
  }
  const resolved: { dest: ResolvedDestination; weight: number; headers: ProtoObject; node: SpecNode }[] = [];
  let failed = false;
  for (const item of items) {
    if (!item.checkFields(['destination', 'weight', 'headers'])) {
      failed = true;
      continue;
    }
    const destNode = item.required('destination', 'e.g. destination: {host: reviews.demo.local, subset: v1}');
    const weightNode = item.field('weight');
    const weight = weightNode.number({ integer: true, min: 0, max: 2_147_483_647 });
    if (items.length > 1 && !weightNode.present) weightNode.error('weight is required when a route has more than one destination');
    const dest = destNode.present ? resolve(destNode, listenerPort) : undefined;
    if (!dest) {
      failed = true;
      continue;
    }
    resolved.push({ dest, weight: weight ?? (items.length === 1 ? 100 : 0), headers: translateHeaderOperations(item.field('headers')), node: item });
  }
  if (failed || resolved.length === 0) return undefined;

  const total = resolved.reduce((s, r) => s + r.weight, 0);
  if (items.length > 1 && total === 0) {
    routeNode.error('the destination weights add up to 0; give at least one destination a weight above 0');
    return undefined;
  }
  if (items.length > 1 && total !== 100) {
    // Envoy divides by the sum, so 1/3 still means 25%/75%; istioctl flags it because it is usually a typo.
    routeNode.warn(`the destination weights add up to ${total}, not 100; traffic is split in proportion to the weights`);
  }

  const consistentHash = resolved[0]!.dest.hashPolicy;
  if (resolved.some((r) => JSON.stringify(r.dest.hashPolicy) !== JSON.stringify(consistentHash))) {
    routeNode.warn('destinations use different consistentHash settings; the first destination\'s hash key is used for the route');
  }

  const action: ProtoObject = {};
  let singleDestinationHeaders: ProtoObject = {};
  // istiod drops zero-weight destinations from weighted_clusters (they would never be picked).
  const live = resolved.filter((r) => r.weight > 0 || resolved.length === 1);
  if (live.length === 1) {
    action['cluster'] = live[0]!.dest.cluster;
    singleDestinationHeaders = live[0]!.headers;
  } else {
    action['weighted_clusters'] = {
      clusters: live.map((r) => ({ name: r.dest.cluster, weight: { value: r.weight }, ...r.headers })),
    };
  }

  // istiod: the route timeout defaults to 0 (disabled, not Envoy's 15s); proxyless gRPC reads it
  // from max_stream_duration (gRFC A31), so the grpc generator writes it there too.
  const timeout = node.field('timeout').duration() ?? 0;
  action['timeout'] = durationObject(timeout);
  action['max_stream_duration'] = { max_stream_duration: durationObject(timeout) };

  const retry = translateRetries(node.field('retries'), consistentHash !== undefined);
  if (retry) action['retry_policy'] = retry;
  if (consistentHash) action['hash_policy'] = consistentHash;

  const rewrite = node.field('rewrite');
  if (rewrite.present && rewrite.checkFields(['uri', 'authority', 'uriRegexRewrite'])) {
    const uri = rewrite.field('uri').string();
    const authority = rewrite.field('authority').string();
    const regex = rewrite.field('uriRegexRewrite');
    if (uri !== undefined && regex.present) rewrite.error('set either uri or uriRegexRewrite, not both');
    if (uri !== undefined) action['prefix_rewrite'] = uri;
    if (regex.present && regex.checkFields(['match', 'rewrite'])) {
      const pattern = regex.required('match').string();
      const substitution = regex.required('rewrite').string();
      if (pattern !== undefined && substitution !== undefined) action['regex_rewrite'] = { pattern: { regex: pattern }, substitution };
    }
    if (authority !== undefined) action['host_rewrite_literal'] = authority;
  }
  return { action, singleDestinationHeaders };
}

function translateRedirect(node: SpecNode): ProtoObject | undefined {
  if (!node.checkFields(['uri', 'authority', 'port', 'scheme', 'redirectCode'], {
    unsupported: { derivePort: 'write the port explicitly' },
  })) return undefined;
  const out: ProtoObject = {};
  const uri = node.field('uri').string();
  const authority = node.field('authority').string();
  const port = node.field('port').number({ integer: true, min: 1, max: 65535 });
  const scheme = node.field('scheme').string();
  const codeNode = node.field('redirectCode');
  const code = codeNode.number({ integer: true }) ?? 301;
  if (uri !== undefined) out['path_redirect'] = uri;
  if (authority !== undefined) out['host_redirect'] = authority;
  if (port !== undefined) out['port_redirect'] = port;
  if (scheme !== undefined) out['scheme_redirect'] = scheme;
  const responseCode = REDIRECT_CODES[code];
  if (!responseCode) {
    codeNode.error(`redirect code ${code} is not one of ${Object.keys(REDIRECT_CODES).join(', ')}`);
    return undefined;
  }
  out['response_code'] = responseCode;
  return out;
}

function translateDirectResponse(node: SpecNode): ProtoObject | undefined {
  if (!node.checkFields(['status', 'body'])) return undefined;
  const status = node.required('status').number({ integer: true, min: 200, max: 599 });
  const out: ProtoObject = {};
  const body = node.field('body');
  if (body.present && body.checkFields(['string', 'bytes'])) {
    const text = body.field('string').string();
    const bytes = body.field('bytes').string();
    if (text !== undefined && bytes !== undefined) body.error('set either string or bytes, not both');
    if (text !== undefined) out['body'] = { inline_string: text };
    else if (bytes !== undefined) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) body.field('bytes').error('bytes must be base64');
      else out['body'] = { inline_bytes: Buffer.from(bytes, 'base64') };
    }
  }
  if (status === undefined) return undefined;
  out['status'] = status;
  return out;
}

/** The route for a host:port no VirtualService covers: istiod's default outbound route. */
export function defaultRoute(cluster: string, hashPolicy: readonly ProtoObject[] | undefined): ProtoObject {
  const action: ProtoObject = {
    cluster,
    timeout: durationObject(0),
    max_stream_duration: { max_stream_duration: durationObject(0) },
    retry_policy: istioDefaultRetryPolicy(hashPolicy !== undefined),
  };
  if (hashPolicy) action['hash_policy'] = hashPolicy;
  return { name: 'default', match: { prefix: '/' }, route: action };
}
