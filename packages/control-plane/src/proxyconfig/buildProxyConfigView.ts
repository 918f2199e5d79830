import type { TargetSnapshot } from '@meshlet/core';
import { describeCluster } from './clusterDescriptions.js';
import type { EndpointView, ProxyConfigView, RouteView, VirtualHostView } from './ProxyConfigView.js';
import { describeAction, describeMatch, describeRewrite, describeRouteFault, effectiveRetry, ENVOY_DEFAULT_ROUTE_TIMEOUT_MS } from './routeDescriptions.js';

/**
 * Flattens one resolved target into the view `meshlet proxy-config` prints. Reads the snapshot
 * the Mesh built (the same one requests use), so what is shown is what traffic would do: the
 * clusters are the ones the routes name, with live endpoint health and ejection state.
 */
export function buildProxyConfigView(snapshot: TargetSnapshot, source: string): ProxyConfigView {
  const hcm = snapshot.httpConnectionManager;
  const rc = snapshot.routeConfig;
  const virtual_hosts: VirtualHostView[] = rc.virtual_hosts.map((vh) => ({
    name: vh.name,
    domains: vh.domains,
    routes: vh.routes.map((route): RouteView => {
      const action = describeAction(route);
      const forwards = route.route !== undefined;
      const retry = forwards ? effectiveRetry(route, vh) : undefined;
      const fault = describeRouteFault(route);
      const rewrite = describeRewrite(route.route);
      return {
        ...(route.name !== undefined ? { name: route.name } : {}),
        match: describeMatch(route.match),
        action,
        ...(forwards ? { timeout_ms: route.route!.timeout ?? ENVOY_DEFAULT_ROUTE_TIMEOUT_MS, timeout_is_default: route.route!.timeout === undefined } : {}),
        ...(retry ? { retry } : {}),
        ...(fault ? { fault } : {}),
        ...(rewrite ? { rewrite } : {}),
        ...(route.route?.priority ? { priority: route.route.priority } : {}),
      };
    }),
  }));
  const clusters = snapshot.clusterNames.map((name) => describeCluster(name, snapshot.cluster(name)?.cluster));
  const endpoints: EndpointView[] = [];
  for (const name of snapshot.clusterNames) {
    const runtime = snapshot.cluster(name);
    if (!runtime) continue;
    for (const h of runtime.hosts()) {
      endpoints.push({
        cluster: name,
        address: h.key,
        health: h.healthStatus,
        ejected: h.isEjected(),
        weight: h.weight,
        locality: `${h.locality.region}/${h.locality.zone}/${h.locality.sub_zone}`,
        priority: h.priority,
      });
    }
  }
  return {
    target: snapshot.target,
    source,
    listener: {
      name: snapshot.listener.name,
      route_config_name: hcm.rds?.route_config_name ?? rc.name,
      rds: hcm.rds !== undefined,
      http_filters: hcm.http_filters.map((f) => f.name),
      ...(hcm.max_stream_duration !== undefined ? { max_stream_duration_ms: hcm.max_stream_duration } : {}),
    },
    route_config: { name: rc.name, virtual_hosts },
    clusters,
    endpoints,
  };
}
