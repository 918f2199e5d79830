import type { FilterOverride, HttpFault } from '@meshlet/xds-client';
import { ActiveFaults, FaultInjector } from './FaultInjector.js';

type OverrideMap = Readonly<Record<string, FilterOverride>>;

/**
 * Picks the fault config that applies to a route and compiles each HttpFault once.
 * Model objects are immutable and replaced on every push, so caching by identity in
 * WeakMaps compiles each config once per push and lets old ones be collected.
 */
export class FaultConfigResolver {
  private readonly byFault = new WeakMap<HttpFault, FaultInjector>();
  private readonly activeByFilter = new WeakMap<HttpFault, ActiveFaults>();

  /**
   * The most specific typed_per_filter_config wins: weighted cluster, then route, then
   * virtual host (Envoy mostSpecificPerFilterConfig); kind 'disabled' turns the filter off.
   * Without an HCM fault filter, overrides do nothing (the filter is not in the chain).
   * @param filterName the HCM filter's name; when unknown, any 'fault' override is taken.
   */
  resolve(
    hcmFault: HttpFault | undefined,
    filterName: string | undefined,
    clusterOverrides: OverrideMap | undefined,
    routeOverrides: OverrideMap | undefined,
    vhostOverrides: OverrideMap | undefined,
  ): FaultInjector | undefined {
    if (hcmFault === undefined) return undefined;
    const o = find(clusterOverrides, filterName) ?? find(routeOverrides, filterName) ?? find(vhostOverrides, filterName);
    if (o === undefined) return this.compile(hcmFault, hcmFault);
    if (o.kind === 'fault') return this.compile(o.fault, hcmFault);
    if (o.kind === 'disabled') return undefined;
    return this.compile(hcmFault, hcmFault);
  }

  private compile(fault: HttpFault, hcmFault: HttpFault): FaultInjector {
    let injector = this.byFault.get(fault);
    if (injector === undefined) {
      let active = this.activeByFilter.get(hcmFault);
      if (active === undefined) this.activeByFilter.set(hcmFault, (active = new ActiveFaults()));
      injector = new FaultInjector(fault, active);
      this.byFault.set(fault, injector);
    }
    return injector;
  }
}

function find(map: OverrideMap | undefined, filterName: string | undefined): FilterOverride | undefined {
  if (map === undefined) return undefined;
  if (filterName !== undefined) return map[filterName];
  for (const key in map) {
    const o = map[key]!;
    if (o.kind === 'fault') return o;
  }
  return undefined;
}
