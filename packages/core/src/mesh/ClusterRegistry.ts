import {
  ClusterLoadAssignmentResource,
  ClusterResource,
  XdsStreamError,
  type Cluster,
  type ClusterLoadAssignment,
  type Disposable,
  type ResourceSource,
  type ResourceWatcher,
} from '@meshlet/xds-client';
import { ClusterRuntime, type ClusterRuntimeOptions } from '../cluster/index.js';

export type ClusterState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'ready'; readonly runtime: ClusterRuntime }
  | { readonly kind: 'missing'; readonly reason: string };

const PENDING: ClusterState = { kind: 'pending' };
const NO_LISTENERS: readonly (() => void)[] = Object.freeze([]);

/** A ClusterLoadAssignment with no endpoints: a usable state, in which requests fail fast with UH, as in Envoy. */
function noEndpoints(clusterName: string): ClusterLoadAssignment {
  return { cluster_name: clusterName, endpoints: [], policy: { drop_overloads: [] } };
}

/**
 * One cluster's CDS + EDS watches and its runtime, shared by every target that routes to it.
 * The entry is its own CDS watcher, and its EDS watcher is one small object: a 10,000-cluster
 * push makes no closures per cluster.
 */
class ClusterEntry implements ResourceWatcher<Cluster> {
  state: ClusterState = PENDING;
  refs = 0;
  /** Copy-on-write (a change replaces the array), so notify() walks it without a copy; usually one. */
  listeners: readonly (() => void)[] = NO_LISTENERS;
  private runtime: ClusterRuntime | undefined;
  private cluster: Cluster | undefined;
  private edsName: string | undefined;
  private edsWatch: Disposable | undefined;
  private readonly cdsWatch: Disposable;

  constructor(
    readonly name: string,
    private readonly source: ResourceSource,
    private readonly runtimeOptions: ClusterRuntimeOptions | undefined,
  ) {
    this.cdsWatch = source.watch(ClusterResource, name, this);
  }

  /**
   * CDS: an update was rejected (NACKed). A cluster already received keeps serving its last good
   * config (gRFC A27). One never received resolves as missing, with the reason: the target's other
   * clusters then serve and routes to this one fail fast (NC), as in Envoy, which never adds a rejected
   * cluster. Left pending, it would hold back the target's snapshot: the xDS client gives a resource
   * the server did send no does-not-exist verdict. A corrected push later resolves it as usual.
   */
  onError(error: Error): void {
    // A failed stream is no verdict on the cluster: keep waiting (the client reconnects or falls back).
    if (this.cluster !== undefined || XdsStreamError.is(error)) return;
    this.setMissing(`cluster "${this.name}" was rejected: ${error.message}`);
  }

  /** CDS: the cluster arrived or changed. */
  onResource(cluster: Cluster): void {
    this.cluster = cluster;
    if (this.runtime) this.runtime.updateCluster(cluster);
    else this.runtime = new ClusterRuntime(cluster, this.runtimeOptions);
    switch (cluster.type) {
      case 'EDS': {
        const edsName = cluster.eds_service_name ?? cluster.name;
        if (edsName !== this.edsName) {
          this.edsWatch?.dispose();
          this.edsName = edsName;
          this.edsWatch = this.source.watch(ClusterLoadAssignmentResource, edsName, new EndpointsWatcher(this, edsName));
        }
        // Same EDS name: the new config (LB policy, breakers) applied in place to the runtime the
        // published snapshots hold; nothing to republish.
        return;
      }
      case 'STATIC':
      case 'STRICT_DNS':
      case 'LOGICAL_DNS':
        this.edsWatch?.dispose();
        this.edsWatch = undefined;
        this.edsName = undefined;
        // DNS clusters: the transport connects by hostname, so the system resolver
        // does the lookup per connection (Meshlet does not re-resolve on a timer).
        this.onEndpoints(cluster.load_assignment ?? noEndpoints(cluster.name));
        return;
      default:
        this.setMissing(`cluster "${cluster.name}": type ${cluster.type} is not supported by Meshlet`);
    }
  }

  /** CDS: the cluster does not exist. */
  onDoesNotExist(): void {
    this.setMissing(`cluster "${this.name}" does not exist (CDS)`);
  }

  /**
   * EDS: an update was rejected. Endpoints already received keep serving; a cluster that never had
   * any resolves with none (requests fail fast with UH, as for endpoints that do not exist) rather
   * than staying pending and holding back its targets.
   */
  onEndpointsRejected(edsName: string): void {
    if (this.state.kind === 'ready' && this.state.runtime === this.runtime) return;
    this.onEndpoints(noEndpoints(edsName));
  }

  onEndpoints(cla: ClusterLoadAssignment): void {
    if (!this.runtime || !this.cluster) return;
    this.runtime.updateEndpoints(cla);
    // Endpoints update in place in the runtime the snapshots hold, so only a change of state
    // (first endpoints, or a new runtime) makes targets republish: an EDS push for one of 10,000
    // clusters must not rebuild every target's snapshot.
    if (this.state.kind === 'ready' && this.state.runtime === this.runtime) return;
    this.state = { kind: 'ready', runtime: this.runtime };
    this.notify();
  }

  private setMissing(reason: string): void {
    this.edsWatch?.dispose();
    this.edsWatch = undefined;
    this.edsName = undefined;
    this.runtime?.close();
    this.runtime = undefined;
    this.cluster = undefined;
    this.state = { kind: 'missing', reason };
    this.notify();
  }

  private notify(): void {
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!();
  }

  addListener(listener: () => void): void {
    this.listeners = [...this.listeners, listener];
  }

  removeListener(listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners = this.listeners.length === 1 ? NO_LISTENERS : this.listeners.filter((_, i) => i !== at);
  }

  close(): void {
    this.cdsWatch.dispose();
    this.edsWatch?.dispose();
    this.runtime?.close();
    this.listeners = NO_LISTENERS;
  }
}

/** EDS watcher of one entry: the endpoints of `edsName`. */
class EndpointsWatcher implements ResourceWatcher<ClusterLoadAssignment> {
  constructor(
    private readonly entry: ClusterEntry,
    private readonly edsName: string,
  ) {}

  onResource(cla: ClusterLoadAssignment): void {
    this.entry.onEndpoints(cla);
  }

  /** No endpoints is a usable state: requests fail fast with UH, as in Envoy. */
  onDoesNotExist(): void {
    this.entry.onEndpoints(noEndpoints(this.edsName));
  }

  onError(error: Error): void {
    if (!XdsStreamError.is(error)) this.entry.onEndpointsRejected(this.edsName);
  }
}

/** One acquire's hold on an entry: one object, not a dispose closure with its own state. */
class ClusterRef implements Disposable {
  private released = false;

  constructor(
    private readonly release: (entry: ClusterEntry) => void,
    private readonly entry: ClusterEntry,
    private readonly onChange: () => void,
  ) {}

  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.entry.removeListener(this.onChange);
    if (--this.entry.refs === 0) this.release(this.entry);
  }
}

/**
 * Reference-counted cluster runtimes: one per cluster name per Mesh, so circuit
 * breakers, outlier detection and least-request counters are shared by every
 * route and target that uses the cluster, as in Envoy's cluster manager.
 */
export class ClusterRegistry {
  private readonly entries = new Map<string, ClusterEntry>();

  constructor(
    private readonly source: ResourceSource,
    private readonly runtimeOptions?: ClusterRuntimeOptions,
  ) {}

  acquire(name: string, onChange: () => void): Disposable {
    let entry = this.entries.get(name);
    if (!entry) {
      entry = new ClusterEntry(name, this.source, this.runtimeOptions);
      this.entries.set(name, entry);
    }
    entry.refs++;
    entry.addListener(onChange);
    return new ClusterRef(this.release, entry, onChange);
  }

  /** What a ClusterRef calls when the last reference to its entry goes (one function per registry). */
  private readonly release = (entry: ClusterEntry): void => {
    entry.close();
    if (this.entries.get(entry.name) === entry) this.entries.delete(entry.name);
  };

  state(name: string): ClusterState {
    return this.entries.get(name)?.state ?? PENDING;
  }

  /** Every live cluster runtime, for debug snapshots. */
  runtimes(): Map<string, ClusterState> {
    return new Map([...this.entries].map(([n, e]) => [n, e.state]));
  }

  close(): void {
    for (const e of this.entries.values()) e.close();
    this.entries.clear();
  }
}
