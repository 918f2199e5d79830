import type { ClusterWeight, HashPolicy, RedirectAction, RouteAction, WeightedClusters } from '../model.js';
import { headerNames, headerValueOptions, optRegexMatcher, regexMatcher } from '../common/Matchers.js';
import { filterOverrides } from '../common/HttpFilters.js';
import { retryPolicy } from './RetryPolicy.js';
import { asObj, at, compact, fail, list, optBool, optDurationMs, optEnum, optObj, optStr, optUint, optWrappedUint, str, type Obj } from '../common/ObjectReader.js';

const UINT32_MAX = 0xffff_ffff;

function regexRewrite(o: Obj, key: string, path: string): { pattern: { regex: string }; substitution: string } | undefined {
  const r = optObj(o, key, path);
  if (!r) return undefined;
  const rp = at(path, key);
  const pattern = optObj(r, 'pattern', rp);
  if (!pattern) fail(at(rp, 'pattern'), 'pattern is required');
  return { pattern: regexMatcher(pattern, at(rp, 'pattern')), substitution: str(r, 'substitution', rp) };
}

/** envoy.config.route.v3.WeightedCluster (gRFC A28: weights must sum to > 0 and fit in uint32). */
function weightedClusters(o: Obj, path: string): WeightedClusters {
  const cp = at(path, 'clusters');
  const items = list(o, 'clusters', path);
  if (items.length === 0) fail(cp, 'at least one cluster is required');
  let sum = 0;
  const clusters = items.map((v, i): ClusterWeight => {
    const c = asObj(v, at(cp, i));
    const p = at(cp, i);
    const name = str(c, 'name', p);
    if (name === '') {
      if (optStr(c, 'cluster_header', p)) fail(at(p, 'cluster_header'), 'cluster_header in weighted clusters is not supported');
      fail(at(p, 'name'), 'cluster name is required');
    }
    const weight = optWrappedUint(c, 'weight', p) ?? 0;
    sum += weight;
    return compact({
      name,
      weight,
      request_headers_to_add: headerValueOptions(c, 'request_headers_to_add', p),
      request_headers_to_remove: headerNames(c, 'request_headers_to_remove', p),
      response_headers_to_add: headerValueOptions(c, 'response_headers_to_add', p),
      response_headers_to_remove: headerNames(c, 'response_headers_to_remove', p),
      typed_per_filter_config: filterOverrides(c, 'typed_per_filter_config', p),
      host_rewrite_literal: optStr(c, 'host_rewrite_literal', p),
    });
  });
  if (sum === 0) fail(cp, 'weights sum to 0');
  if (sum > UINT32_MAX) fail(cp, `weights sum to ${sum}, more than uint32 allows`);
  // total_weight is deprecated: since Envoy 1.24 (envoyproxy/envoy#23170) the total is the sum of the weights
  // and total_weight is not checked against it (gRPC clients likewise), so a mismatch is accepted, not NACKed.
  // It is kept in the model for config dumps only.
  const total_weight = optWrappedUint(o, 'total_weight', path) || undefined;
  return compact({ clusters, total_weight, runtime_key_prefix: optStr(o, 'runtime_key_prefix', path) || undefined });
}

function hashPolicy(v: unknown, path: string): HashPolicy {
  const o = asObj(v, path);
  const h = optObj(o, 'header', path);
  const c = optObj(o, 'cookie', path);
  const cp = optObj(o, 'connection_properties', path);
  const q = optObj(o, 'query_parameter', path);
  const fs = optObj(o, 'filter_state', path);
  const p: { -readonly [K in keyof HashPolicy]: HashPolicy[K] } = { terminal: optBool(o, 'terminal', path) ?? false };
  if (h) {
    const hp = at(path, 'header');
    const header_name = str(h, 'header_name', hp);
    if (header_name === '') fail(at(hp, 'header_name'), 'header_name is required');
    p.header = compact({ header_name, regex_rewrite: regexRewrite(h, 'regex_rewrite', hp) });
  }
  if (c) p.cookie = compact({ name: str(c, 'name', at(path, 'cookie')), ttl: optDurationMs(c, 'ttl', at(path, 'cookie')), path: optStr(c, 'path', at(path, 'cookie')) || undefined });
  if (cp) p.connection_properties = { source_ip: optBool(cp, 'source_ip', at(path, 'connection_properties')) ?? false };
  if (q) p.query_parameter = { name: str(q, 'name', at(path, 'query_parameter')) };
  if (fs) p.filter_state = { key: str(fs, 'key', at(path, 'filter_state')) };
  // Hash policies of other kinds simply produce no hash (Envoy / gRFC A42 skip them), so they are not an error.
  return p;
}

const NOT_FOUND_CODES = ['SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'] as const;
const ROUTING_PRIORITIES = ['DEFAULT', 'HIGH'] as const;

/** envoy.config.route.v3.RouteAction. */
export function routeAction(o: Obj, path: string): RouteAction {
  const cluster = optStr(o, 'cluster', path);
  const cluster_header = optStr(o, 'cluster_header', path);
  const wc = optObj(o, 'weighted_clusters', path);
  const cluster_specifier_plugin = optStr(o, 'cluster_specifier_plugin', path);
  if (o['inline_cluster_specifier_plugin'] !== undefined) fail(at(path, 'inline_cluster_specifier_plugin'), 'inline cluster specifier plugins are not supported');
  const specifiers = [cluster, cluster_header, wc, cluster_specifier_plugin].filter((x) => x !== undefined).length;
  if (specifiers !== 1) fail(path, 'exactly one of cluster, cluster_header, weighted_clusters, cluster_specifier_plugin is required');
  if (cluster === '') fail(at(path, 'cluster'), 'cluster name must not be empty');
  if (cluster_header === '') fail(at(path, 'cluster_header'), 'cluster_header must not be empty');
  const msd = optObj(o, 'max_stream_duration', path);
  const msdp = at(path, 'max_stream_duration');
  const rp = optObj(o, 'retry_policy', path);
  return compact({
    cluster,
    cluster_header,
    weighted_clusters: wc ? weightedClusters(wc, at(path, 'weighted_clusters')) : undefined,
    cluster_specifier_plugin,
    cluster_not_found_response_code: optEnum(o, 'cluster_not_found_response_code', path, NOT_FOUND_CODES),
    prefix_rewrite: optStr(o, 'prefix_rewrite', path) || undefined,
    regex_rewrite: regexRewrite(o, 'regex_rewrite', path),
    host_rewrite_literal: optStr(o, 'host_rewrite_literal', path),
    auto_host_rewrite: o['auto_host_rewrite'] !== undefined ? (asObj(o['auto_host_rewrite'], at(path, 'auto_host_rewrite'))['value'] === true) : undefined,
    host_rewrite_header: optStr(o, 'host_rewrite_header', path),
    timeout: optDurationMs(o, 'timeout', path),
    idle_timeout: optDurationMs(o, 'idle_timeout', path),
    retry_policy: rp ? retryPolicy(rp, at(path, 'retry_policy')) : undefined,
    hash_policy: list(o, 'hash_policy', path).map((h, i) => hashPolicy(h, at(at(path, 'hash_policy'), i))),
    max_stream_duration: msd
      ? compact({
          max_stream_duration: optDurationMs(msd, 'max_stream_duration', msdp),
          grpc_timeout_header_max: optDurationMs(msd, 'grpc_timeout_header_max', msdp),
          grpc_timeout_header_offset: optDurationMs(msd, 'grpc_timeout_header_offset', msdp),
        })
      : undefined,
    max_grpc_timeout: optDurationMs(o, 'max_grpc_timeout', path),
    include_vh_rate_limits: optBool(o, 'include_vh_rate_limits', path),
    // PGV defined_only; DEFAULT is the proto default, so it is left out and the model stays canonical.
    priority: optEnum(o, 'priority', path, ROUTING_PRIORITIES) === 'HIGH' ? ('HIGH' as const) : undefined,
  });
}

const REDIRECT_CODES = ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'] as const;

/** envoy.config.route.v3.RedirectAction. */
export function redirectAction(o: Obj, path: string): RedirectAction {
  const port = optUint(o, 'port_redirect', path);
  if (port !== undefined && port > 65535) fail(at(path, 'port_redirect'), 'port must be at most 65535');
  const path_redirect = optStr(o, 'path_redirect', path);
  const prefix_rewrite = optStr(o, 'prefix_rewrite', path);
  const regex_rewrite = regexRewrite(o, 'regex_rewrite', path);
  if ([path_redirect, prefix_rewrite, regex_rewrite].filter((x) => x !== undefined).length > 1) fail(path, 'at most one of path_redirect, prefix_rewrite, regex_rewrite');
  return compact({
    https_redirect: optBool(o, 'https_redirect', path),
    scheme_redirect: optStr(o, 'scheme_redirect', path),
    host_redirect: optStr(o, 'host_redirect', path) || undefined,
    port_redirect: port || undefined,
    path_redirect,
    prefix_rewrite,
    regex_rewrite,
    response_code: optEnum(o, 'response_code', path, REDIRECT_CODES) ?? 'MOVED_PERMANENTLY',
    strip_query: optBool(o, 'strip_query', path),
  });
}
