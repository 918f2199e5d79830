import { FaultConfigResolver, RbacEngine, type FaultInjector } from '@meshlet/core';
import { ValidationError, type FilterOverride, type HttpConnectionManager, type HttpFault, type RbacFilter, type RouteConfiguration } from '@meshlet/xds-client';

type OverrideMap = Readonly<Record<string, FilterOverride>>;

/** One HTTP filter of a server HCM that acts on calls, in filter order. */
export type ServerHttpFilter =
  | { readonly kind: 'rbac'; readonly name: string; readonly engine: RbacEngine }
  | { readonly kind: 'fault'; readonly name: string; readonly fault: HttpFault };

/**
 * The HCM's http_filters as a server applies them (gRFC A36 / A39): the router must be the last
 * filter; RBAC (gRFC A41) and fault filters act on calls; a filter Meshlet does not understand
 * makes the Listener invalid unless it is marked `is_optional`, in which case it is skipped.
 */
export function compileServerHttpFilters(hcm: HttpConnectionManager, fieldPath: string): ServerHttpFilter[] {
  const filters = hcm.http_filters;
  const last = filters.at(-1);
  if (last === undefined || last.config.kind !== 'router') {
    throw new ValidationError(`${fieldPath}.http_filters`, 'the last HTTP filter must be the router (gRFC A39)');
  }
  const out: ServerHttpFilter[] = [];
  filters.forEach((f, i) => {
    const at = `${fieldPath}.http_filters[${i}]`;
    switch (f.config.kind) {
      case 'router':
        if (i !== filters.length - 1) throw new ValidationError(at, 'the router must be the last HTTP filter (gRFC A39)');
        break;
      case 'rbac':
        out.push({ kind: 'rbac', name: f.name, engine: RbacEngine.compile(f.config.rbac, `${at}.typed_config`) });
        break;
      case 'fault':
        out.push({ kind: 'fault', name: f.name, fault: f.config.fault });
        break;
      case 'opaque':
        if (!f.is_optional) throw new ValidationError(at, `unsupported HTTP filter ${f.config.opaque.inner_type_url ?? f.config.opaque.type_url} (not optional)`);
        break;
    }
  });
  return out;
}

/**
 * Per-route filter configs (typed_per_filter_config) for the server filters: the route's override,
 * else the virtual host's, replaces the HCM filter's config for that call (gRFC A39 / A41). Each
 * override is compiled once; model objects are immutable and replaced on every push, so caching by
 * identity in WeakMaps is safe and lets old configs be collected.
 */
export class PerRouteFilterConfigs {
  private readonly rbacByOverride = new WeakMap<FilterOverride, RbacEngine>();
  private readonly faults = new FaultConfigResolver();

  /**
   * Compiles every RBAC override of a RouteConfiguration up front, so a bad one makes the route
   * configuration invalid (gRFC A41) instead of failing calls later. Throws ValidationError.
   */
  prepare(config: RouteConfiguration): void {
    config.virtual_hosts.forEach((vh, v) => {
      const vhPath = `virtual_hosts[${v}]`;
      this.prepareMap(vh.typed_per_filter_config, `${vhPath}.typed_per_filter_config`);
      vh.routes.forEach((r, i) => this.prepareMap(r.typed_per_filter_config, `${vhPath}.routes[${i}].typed_per_filter_config`));
    });
  }

  private prepareMap(map: OverrideMap, fieldPath: string): void {
    for (const [name, o] of Object.entries(map)) {
      if (o.kind !== 'rbac' || this.rbacByOverride.has(o)) continue;
      this.rbacByOverride.set(o, o.rbac === undefined ? RbacEngine.allowAll() : RbacEngine.compile(o.rbac, `${fieldPath}["${name}"].rbac`));
    }
  }

  /** The RBAC engine for this call, or undefined when an override disables the filter. */
  rbac(filter: Extract<ServerHttpFilter, { kind: 'rbac' }>, route: OverrideMap, vhost: OverrideMap): RbacEngine | undefined {
    const o = route[filter.name] ?? vhost[filter.name];
    if (o === undefined) return filter.engine;
    if (o.kind === 'disabled') return undefined;
    if (o.kind !== 'rbac') return filter.engine;
    let engine = this.rbacByOverride.get(o);
    if (engine === undefined) {
      // RBACPerRoute without `rbac` is an empty RBAC config: no rules, enforces nothing.
      engine = o.rbac === undefined ? RbacEngine.allowAll() : compileOverride(o.rbac, filter.name);
      this.rbacByOverride.set(o, engine);
    }
    return engine;
  }

  fault(filter: Extract<ServerHttpFilter, { kind: 'fault' }>, route: OverrideMap, vhost: OverrideMap): FaultInjector | undefined {
    return this.faults.resolve(filter.fault, filter.name, undefined, route, vhost);
  }
}

function compileOverride(rbac: RbacFilter, name: string): RbacEngine {
  try {
    return RbacEngine.compile(rbac, `typed_per_filter_config["${name}"].rbac`);
  } catch {
    // The route config was validated when it was accepted; an override that still fails to
    // compile must not open access, so it denies everything.
    return RbacEngine.compile({ rules: { action: 'ALLOW', policies: {} } });
  }
}
