import {
  ClusterLoadAssignmentResource,
  ClusterResource,
  type Cluster,
  type ClusterLoadAssignment,
  type Disposable,
  type ResourceSource,
} from '@meshlet/xds-client';
import { ClusterRuntime, type ClusterRuntimeOptions } from '../cluster/index.js';

export type ClusterState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'ready'; readonly runtime: ClusterRuntime }
  | { readonly kind: 'missing'; readonly reason: string };

const PENDING: ClusterState = { kind: 'pending' };

/** One cluster's CDS + EDS watches and its runtime, shared by every target that routes to it. */
class ClusterEntry {
  state: ClusterState = PENDING;
  refs = 0;
  readonly listeners = new Set<() => void>();
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
    this.cdsWatch = source.watch(ClusterResource, name, {
      onResource: (cluster) => this.onCluster(cluster),
      onDoesNotExist: () => this.setMissing(`cluster "${name}" does not exist (CDS)`),
      // A NACKed update keeps the last good cluster: nothing to do (gRFC A27).
    });
  }

  private onCluster(cluster: Cluster): void {
    this.cluster = cluster;
    if (this.runtime) this.runtime.updateCluster(cluster);
    else this.runtime = new ClusterRuntime(cluster, this.runtimeOptions);
    switch (cluster.type) {
      case 'EDS': {
        const edsName = cluster.eds_service_name ?? cluster.name;
        if (edsName !== this.edsName) {
          this.edsWatch?.dispose();
          this.edsName = edsName;
          this.edsWatch = this.source.watch(ClusterLoadAssignmentResource, edsName, {
            onResource: (cla) => this.onEndpoints(cla),
            // No endpoints is a usable state: requests fail fast with UH, as in Envoy.
            onDoesNotExist: () => this.onEndpoints({ cluster_name: edsName, endpoints: [], policy: { drop_overloads: [] } }),
          });
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
        this.onEndpoints(cluster.load_assignment ?? { cluster_name: cluster.name, endpoints: [], policy: { drop_overloads: [] } });
        return;
      default:
        this.setMissing(`cluster "${cluster.name}": type ${cluster.type} is not supported by Meshlet`);
    }
  }

  private onEndpoints(cla: ClusterLoadAssignment): void {
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
    for (const l of [...this.listeners]) l();
  }

  close(): void {
    this.cdsWatch.dispose();
    this.edsWatch?.dispose();
    this.runtime?.close();
    this.listeners.clear();
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
    entry.listeners.add(onChange);
    const e = entry;
    let released = false;
    return {
      dispose: () => {
        if (released) return;
        released = true;
        e.listeners.delete(onChange);
        if (--e.refs === 0) {
          e.close();
          this.entries.delete(name);
        }
      },
    };
  }

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
