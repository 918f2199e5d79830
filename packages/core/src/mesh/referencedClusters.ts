import type { ClusterWeight, RouteConfiguration } from '@meshlet/xds-client';

/** For routes without weighted clusters (nearly all): one empty list, not one per route. */
const NO_WEIGHTED: readonly ClusterWeight[] = Object.freeze([]);

/**
 * The cluster names a RouteConfiguration can send traffic to, so the Mesh can
 * resolve them all before publishing a snapshot (gRFC A74). `cluster_header`
 * targets are only known per request and are resolved on first use.
 */
export function referencedClusters(config: RouteConfiguration): string[] {
  const names = new Set<string>();
  for (const vh of config.virtual_hosts) {
    for (const route of vh.routes) {
      const action = route.route;
      if (!action) continue;
      if (action.cluster) names.add(action.cluster);
      for (const w of action.weighted_clusters?.clusters ?? NO_WEIGHTED) names.add(w.name);
    }
  }
  return [...names].sort();
}
