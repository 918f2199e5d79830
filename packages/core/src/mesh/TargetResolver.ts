import {
  ListenerResource,
  RouteConfigurationResource,
  XdsStreamError,
  type Disposable,
  type HttpConnectionManager,
  type Listener,
  type ResourceSource,
  type RouteConfiguration,
} from '@meshlet/xds-client';
import { RouteTable } from '../routing/index.js';
import type { ClusterRuntime } from '../cluster/index.js';
import type { ClusterRegistry } from './ClusterRegistry.js';
import { referencedClusters } from './referencedClusters.js';
import type { TargetSnapshot, TargetState } from './TargetSnapshot.js';

const PENDING: TargetState = { kind: 'pending' };
/** At most this many distinct `cluster_header` clusters are resolved per target. */
const MAX_HEADER_CLUSTERS = 100;

export interface TargetResolverHooks {
  nextVersion(): number;
  onError?(target: string, error: Error): void;
}

/**
 * Follows one target's chain LDS -> RDS -> CDS -> EDS and publishes a new
 * immutable TargetSnapshot only once every resource it names is resolved, so
 * requests never see a route pointing at a cluster that is still loading
 * (gRFC A74). Until then the previous snapshot keeps serving.
 */
export class TargetResolver {
  state: TargetState = PENDING;
  private readonly listeners = new Set<(state: TargetState) => void>();
  private readonly listenerWatch: Disposable;
  private listener: Listener | undefined;
  private hcm: HttpConnectionManager | undefined;
  private rdsName: string | undefined;
  private rdsWatch: Disposable | undefined;
  private routeConfig: RouteConfiguration | undefined;
  private routeTable: RouteTable | undefined;
  private clusterRefs = new Map<string, Disposable>();
  /**
   * Clusters named per request by `cluster_header` routes: only known at request time, so
   * resolved on first use (that request gets NC, as Envoy answers for an unknown cluster) and
   * published without blocking the snapshot. Capped: the name comes from a request header, and a
   * client must not be able to make the process open unbounded xDS watches.
   */
  private readonly headerClusters = new Set<string>();
  private routesUseClusterHeader = false;
  /** Sorted names the current route config references (computed once per RDS push, not per cluster event). */
  private clusterNames: string[] = [];
  /** Names before this index were seen resolved: a cluster event rescans from the first one still pending. */
  private resolvedUpTo = 0;
  /**
   * A route config replaced one whose clusters this target still holds: the ones it no longer
   * references are released by the next complete rebuild, whichever cluster event brings it (not
   * only a rebuild called from onRouteConfig), so a route change whose new cluster resolves later
   * does not keep the old cluster's watches and runtime for good.
   */
  private releaseOwed = false;
  private closed = false;
  /** The resource whose rejection made a never-ready target missing (onRejected). */
  private rejected: 'listener' | 'routes' | undefined;
  /**
   * One listener for every cluster this target holds (not a closure per cluster). The registry keeps
   * listeners in an array (a listener added twice is called twice), so this relies on one acquire per
   * name per target (clusterRefs guards it).
   */
  private readonly onClusterChange = (): void => this.rebuild();

  constructor(
    readonly target: string,
    private readonly source: ResourceSource,
    private readonly clusters: ClusterRegistry,
    private readonly hooks: TargetResolverHooks,
  ) {
    this.listenerWatch = source.watch(ListenerResource, target, {
      onResource: (listener) => this.onListener(listener),
      onDoesNotExist: () => this.setMissing(`no listener "${target}" in the mesh config`),
      onError: (error) => this.onRejected(`listener "${target}"`, error, 'listener'),
    });
  }

  /**
   * A listener or route configuration update was rejected (NACKed). A target already serving keeps its
   * last good snapshot (gRFC A27). One that never had a snapshot resolves as missing, with the reason,
   * so requests learn it at once (passthrough or an error) instead of each waiting resolveTimeoutMs for
   * config the server already sent; the watches stay, and a corrected push makes it ready as usual.
   */
  private onRejected(what: string, error: Error, resource: 'listener' | 'routes'): void {
    this.hooks.onError?.(this.target, error);
    // A failed stream is no verdict on the config: requests keep waiting (resolveTimeoutMs) for it.
    if (XdsStreamError.is(error)) return;
    if (this.state.kind !== 'pending' && this.rejected === undefined) return;
    this.rejected = resource;
    this.setState({ kind: 'missing', reason: `${what} was rejected: ${error.message}` });
  }

  /** The rejected resource arrived after all: wait for the rest of the config again, as at the start. */
  private accepted(resource: 'listener' | 'routes'): void {
    if (this.rejected !== resource) return;
    this.rejected = undefined;
    if (this.state.kind === 'missing') this.setState(PENDING);
  }

  onChange(listener: (state: TargetState) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private onListener(listener: Listener): void {
    this.accepted('listener');
    const hcm = listener.api_listener;
    if (!hcm) {
      this.setMissing(`listener "${this.target}" has no api_listener (it is a server-side listener)`);
      return;
    }
    this.listener = listener;
    this.hcm = hcm;
    if (hcm.route_config) {
      this.rdsWatch?.dispose();
      this.rdsWatch = undefined;
      this.rdsName = undefined;
      this.onRouteConfig(hcm.route_config);
    } else if (hcm.rds && hcm.rds.route_config_name !== this.rdsName) {
      this.rdsWatch?.dispose();
      this.rdsName = hcm.rds.route_config_name;
      this.routeConfig = undefined;
      this.rdsWatch = this.source.watch(RouteConfigurationResource, this.rdsName, {
        onResource: (rc) => this.onRouteConfig(rc),
        onDoesNotExist: () => this.setMissing(`route configuration "${this.rdsName}" for listener "${this.target}" does not exist`),
        onError: (error) => this.onRejected(`route configuration "${this.rdsName}" for listener "${this.target}"`, error, 'routes'),
      });
    } else {
      this.rebuild(); // same RDS name: HCM filters may have changed
    }
  }

  private onRouteConfig(rc: RouteConfiguration): void {
    this.accepted('routes');
    let table: RouteTable;
    try {
      table = RouteTable.compile(rc);
    } catch (error) {
      // The decoder validated it; a compile failure means a Meshlet gap. Keep serving the last table.
      this.hooks.onError?.(this.target, error as Error);
      return;
    }
    this.routeConfig = rc;
    this.routeTable = table;
    // Sorted and distinct already: one sort per push, not a second over a copy.
    const names = referencedClusters(rc);
    // On the first route config (10,000 clusters at config scale) there is nothing to release.
    if (this.clusterRefs.size > 0) this.releaseOwed = true;
    this.routesUseClusterHeader = rc.virtual_hosts.some((vh) => vh.routes.some((r) => r.route?.cluster_header !== undefined));
    if (!this.routesUseClusterHeader) this.headerClusters.clear();
    this.clusterNames = names;
    this.resolvedUpTo = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (!this.clusterRefs.has(name)) this.clusterRefs.set(name, this.clusters.acquire(name, this.onClusterChange));
    }
    // Clusters no longer referenced are released by the rebuild that publishes this config, so
    // the snapshot still serving keeps its runtimes alive until it is replaced.
    this.rebuild();
  }

  private rebuild(): void {
    if (this.closed || !this.listener || !this.hcm || !this.routeConfig || !this.routeTable) return;
    const names = this.clusterNames;
    // Wait until every referenced cluster is resolved: publish only complete snapshots. Clusters
    // arrive one event at a time, so resume the scan where the last one stopped (a resolved
    // cluster does not go back to pending): O(clusters) per route config, not per cluster event.
    for (; this.resolvedUpTo < names.length; this.resolvedUpTo++) {
      if (this.clusters.state(names[this.resolvedUpTo]!).kind === 'pending') return;
    }
    const runtimes = new Map<string, ClusterRuntime>();
    for (let i = 0; i < names.length; i++) {
      const s = this.clusters.state(names[i]!);
      if (s.kind === 'pending') {
        this.resolvedUpTo = i; // defensive: never publish a snapshot with a pending cluster
        return;
      }
      if (s.kind === 'ready') runtimes.set(names[i]!, s.runtime);
    }
    for (const name of this.headerClusters) {
      const s = this.clusters.state(name);
      if (s.kind === 'ready') runtimes.set(name, s.runtime);
    }
    const onDemand = this.routesUseClusterHeader ? (name: string) => this.requestHeaderCluster(name) : undefined;
    if (this.releaseOwed) this.releaseUnreferenced(names);
    const hcm = this.hcm;
    const faultFilter = hcm.http_filters.find((f) => f.config.kind === 'fault');
    const snapshot: TargetSnapshot = Object.freeze({
      target: this.target,
      version: this.hooks.nextVersion(),
      listener: this.listener,
      httpConnectionManager: hcm,
      routeConfig: this.routeConfig,
      routeTable: this.routeTable,
      fault: faultFilter?.config.kind === 'fault' ? faultFilter.config.fault : undefined,
      faultFilterName: faultFilter?.name,
      maxStreamDuration: hcm.max_stream_duration,
      generateRequestId: hcm.generate_request_id !== false,
      clusterNames: names,
      cluster: (name: string) => runtimes.get(name) ?? onDemand?.(name),
    });
    this.setState({ kind: 'ready', snapshot });
  }

  /**
   * Drops the holds on clusters the route config being published (`names`, whatever config it is
   * by now) and its `cluster_header` requests no longer name. The snapshot about to replace the
   * serving one holds none of them.
   */
  private releaseUnreferenced(names: readonly string[]): void {
    this.releaseOwed = false;
    const wanted = new Set(names);
    for (const [name, ref] of this.clusterRefs) {
      if (!wanted.has(name) && !this.headerClusters.has(name)) {
        ref.dispose();
        this.clusterRefs.delete(name);
      }
    }
  }

  /** A cluster a `cluster_header` route named: start resolving it; this request sees none (NC). */
  private requestHeaderCluster(name: string): undefined {
    if (this.closed || this.headerClusters.has(name) || this.headerClusters.size >= MAX_HEADER_CLUSTERS) return undefined;
    this.headerClusters.add(name);
    if (!this.clusterRefs.has(name)) this.clusterRefs.set(name, this.clusters.acquire(name, this.onClusterChange));
    return undefined;
  }

  private setMissing(reason: string): void {
    this.rejected = undefined;
    this.listener = undefined;
    this.hcm = undefined;
    this.routeConfig = undefined;
    this.routeTable = undefined;
    this.rdsWatch?.dispose();
    this.rdsWatch = undefined;
    this.rdsName = undefined;
    for (const ref of this.clusterRefs.values()) ref.dispose();
    this.clusterRefs.clear();
    this.releaseOwed = false;
    this.setState({ kind: 'missing', reason });
  }

  private setState(state: TargetState): void {
    this.state = state;
    for (const l of [...this.listeners]) l(state);
  }

  close(): void {
    this.closed = true;
    this.listenerWatch.dispose();
    this.rdsWatch?.dispose();
    for (const ref of this.clusterRefs.values()) ref.dispose();
    this.clusterRefs.clear();
    this.listeners.clear();
  }
}
