import type { FilterOverride, HttpFault, HttpFilter, HttpFilterConfig, RbacFilter, RbacPolicy, RbacRules } from '../model.js';
import { headerMatcher, fractionalPercent } from './Matchers.js';
import { anyValue, decodeKnown, opaque, typeName, type AnyValue } from './TypedExtensions.js';
import { asObj, at, compact, fail, list, map, optBool, optDurationMs, optEnum, optObj, optStr, optUint, optWrappedUint, str, type Obj } from './ObjectReader.js';
import { structToJson } from '../../proto/ProtoJson.js';

const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const FAULT = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
const RBAC = 'envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_PER_ROUTE = 'envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const ROUTE_FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';

/** envoy.extensions.filters.http.fault.v3.HTTPFault (gRFC A33). */
export function httpFault(o: Obj, path: string): HttpFault {
  const d = optObj(o, 'delay', path);
  const a = optObj(o, 'abort', path);
  let delay: HttpFault['delay'];
  if (d) {
    const dp = at(path, 'delay');
    const fixed_delay = optDurationMs(d, 'fixed_delay', dp);
    const header_delay = d['header_delay'] !== undefined ? true : undefined;
    if (fixed_delay === undefined && !header_delay) fail(dp, 'one of fixed_delay or header_delay is required');
    delay = compact({ fixed_delay, header_delay, percentage: d['percentage'] ? fractionalPercent(d['percentage'], at(dp, 'percentage')) : { numerator: 0, denominator: 'HUNDRED' as const } });
  }
  let abort: HttpFault['abort'];
  if (a) {
    const ap = at(path, 'abort');
    const http_status = optUint(a, 'http_status', ap);
    const grpc_status = optUint(a, 'grpc_status', ap);
    const header_abort = a['header_abort'] !== undefined ? true : undefined;
    if ([http_status, grpc_status, header_abort].filter((x) => x !== undefined).length !== 1) fail(ap, 'exactly one of http_status, grpc_status, header_abort is required');
    // PGV: http_status in [200, 600).
    if (http_status !== undefined && (http_status < 200 || http_status >= 600)) fail(at(ap, 'http_status'), 'must be in [200, 600)');
    abort = compact({ http_status, grpc_status, header_abort, percentage: a['percentage'] ? fractionalPercent(a['percentage'], at(ap, 'percentage')) : { numerator: 0, denominator: 'HUNDRED' as const } });
  }
  if (o['response_rate_limit'] !== undefined) {
    // Not an error: gRFC A33 ignores response_rate_limit; the other faults still apply.
  }
  return compact({
    delay,
    abort,
    upstream_cluster: optStr(o, 'upstream_cluster', path) || undefined,
    headers: list(o, 'headers', path).map((h, i) => headerMatcher(h, at(at(path, 'headers'), i))),
    max_active_faults: optWrappedUint(o, 'max_active_faults', path),
  });
}

const RBAC_ACTIONS = ['ALLOW', 'DENY', 'LOG'] as const;

function rbacRules(o: Obj, path: string): RbacRules {
  const policies: Record<string, RbacPolicy> = {};
  const pp = at(path, 'policies');
  for (const [name, pv] of Object.entries(map(o, 'policies', path))) {
    const p = asObj(pv, at(pp, name));
    const ppath = `${pp}["${name}"]`;
    // gRFC A41: CEL conditions are not supported; a policy using them cannot be enforced faithfully.
    if (p['condition'] !== undefined || p['checked_condition'] !== undefined) fail(ppath, 'RBAC policy conditions (CEL) are not supported');
    policies[name] = {
      permissions: list(p, 'permissions', ppath).map((x, i) => plainRule(x, at(at(ppath, 'permissions'), i))),
      principals: list(p, 'principals', ppath).map((x, i) => plainRule(x, at(at(ppath, 'principals'), i))),
    };
  }
  return { action: optEnum(o, 'action', path, RBAC_ACTIONS) ?? 'ALLOW', policies };
}

/** Permissions / principals stay in proto shape; bytes (none expected) are copied so the model can be frozen. */
function plainRule(v: unknown, path: string): Readonly<Record<string, unknown>> {
  return asObj(normalise(v), path);
}

function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // Struct-valued metadata matchers read better as JSON.
    if ('fields' in o && Object.keys(o).length === 1) return structToJson(o);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = normalise(x);
    return out;
  }
  return v;
}

/** envoy.extensions.filters.http.rbac.v3.RBAC. */
export function rbacFilter(o: Obj, path: string): RbacFilter {
  const rules = optObj(o, 'rules', path);
  const shadow = optObj(o, 'shadow_rules', path);
  return compact({
    rules: rules ? rbacRules(rules, at(path, 'rules')) : undefined,
    shadow_rules: shadow ? rbacRules(shadow, at(path, 'shadow_rules')) : undefined,
  });
}

const NAME_ONLY_FILTERS = new Map<string, HttpFilterConfig>([
  ['envoy.filters.http.router', { kind: 'router' }],
  ['envoy.router', { kind: 'router' }],
  ['envoy.filters.http.rbac', { kind: 'rbac', rbac: {} }],
  ['envoy.filters.http.fault', { kind: 'fault', fault: { headers: [] } }],
]);

/** envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter. */
export function httpFilter(v: unknown, path: string): HttpFilter {
  const o = asObj(v, path);
  const name = str(o, 'name', path);
  if (name === '') fail(at(path, 'name'), 'filter name is required');
  const is_optional = optBool(o, 'is_optional', path) ?? false;
  if (o['config_discovery'] !== undefined) fail(at(path, 'config_discovery'), 'filter config discovery (ECDS) is not supported');
  if (o['typed_config'] === undefined) {
    // Envoy before 1.22 accepted name-only filters and used the factory's empty config (OSM still sends
    // them); Meshlet does the same for the three filters it implements. Others cannot be identified.
    const byName = NAME_ONLY_FILTERS.get(name);
    if (!byName) fail(at(path, 'typed_config'), `typed_config is required (name-only filter "${name}")`);
    return { name, is_optional, config: byName };
  }
  const any = anyValue(o['typed_config'], at(path, 'typed_config'));
  return { name, is_optional, config: httpFilterConfig(any, at(path, 'typed_config')) };
}

function httpFilterConfig(any: AnyValue, path: string): HttpFilterConfig {
  switch (typeName(any)) {
    case ROUTER:
      decodeKnown(any, path);
      return { kind: 'router' };
    case FAULT:
      return { kind: 'fault', fault: httpFault(decodeKnown(any, path)!, path) };
    case RBAC:
      return { kind: 'rbac', rbac: rbacFilter(decodeKnown(any, path)!, path) };
    default:
      return { kind: 'opaque', opaque: opaque(any) };
  }
}

/** typed_per_filter_config (virtual host, route, weighted cluster): fault and RBAC overrides decoded, others opaque. */
export function filterOverrides(o: Obj, key: string, path: string): Readonly<Record<string, FilterOverride>> {
  const out: Record<string, FilterOverride> = {};
  for (const [name, v] of Object.entries(map(o, key, path))) {
    out[name] = filterOverride(anyValue(v, `${at(path, key)}["${name}"]`), `${at(path, key)}["${name}"]`);
  }
  return out;
}

function filterOverride(any: AnyValue, path: string): FilterOverride {
  switch (typeName(any)) {
    case FAULT:
      return { kind: 'fault', fault: httpFault(decodeKnown(any, path)!, path) };
    case RBAC_PER_ROUTE: {
      const o = decodeKnown(any, path)!;
      const rbac = optObj(o, 'rbac', path);
      return rbac ? { kind: 'rbac', rbac: rbacFilter(rbac, at(path, 'rbac')) } : { kind: 'rbac' };
    }
    case ROUTE_FILTER_CONFIG: {
      // envoy.config.route.v3.FilterConfig wraps an override and can disable the filter on this route (gRFC A39).
      const o = decodeKnown(any, path)!;
      if (optBool(o, 'disabled', path)) return { kind: 'disabled' };
      if (o['config'] === undefined) return { kind: 'opaque', opaque: opaque(any) };
      return filterOverride(anyValue(o['config'], at(path, 'config')), at(path, 'config'));
    }
    default:
      return { kind: 'opaque', opaque: opaque(any) };
  }
}
