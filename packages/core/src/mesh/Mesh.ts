import type { ResourceSource } from '@meshlet/xds-client';
import { initHashing, type ClusterRuntimeOptions } from '../cluster/index.js';
import { ClusterRegistry } from './ClusterRegistry.js';
import { TargetResolver } from './TargetResolver.js';
import type { TargetState } from './TargetSnapshot.js';

export interface MeshOptions {
  /** Where config comes from: an XdsClient (ADS), a FileSource, or a StaticResourceSource (mesh.yaml). */
  readonly source: ResourceSource;
  /**
   * How long a request to a target seen for the first time waits for its config
   * before the target is treated as not in the mesh. Default 5000 ms: shorter than
   * the 15 s xDS does-not-exist timer so that an unknown host is never a 15 s hang.
   */
  readonly resolveTimeoutMs?: number;
  readonly clusterRuntime?: ClusterRuntimeOptions;
  /** Called for NACKed updates and internal errors; the last good config keeps serving. */
  readonly onError?: (target: string, error: Error) => void;
}

/**
 * The mesh as one process sees it: per-target snapshots resolved from one
 * ResourceSource, and cluster runtimes shared across targets.
 */
export class Mesh {
  private readonly targets = new Map<string, TargetResolver>();
  private readonly clusters: ClusterRegistry;
  private version = 0;
  private closed = false;
  readonly resolveTimeoutMs: number;

  private constructor(private readonly options: MeshOptions) {
    this.clusters = new ClusterRegistry(options.source, options.clusterRuntime);
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? 5000;
  }

  /** Where the Mesh's config comes from (an XdsClient, a FileSource, ...). */
  get source(): ResourceSource {
    return this.options.source;
  }

  /** Creates a Mesh once the hashing used by ring hash and maglev is ready. */
  static async create(options: MeshOptions): Promise<Mesh> {
    await initHashing();
    return new Mesh(options);
  }

  /** The current state of a target, starting its resolution on first use. Synchronous: the hot path. */
  state(target: string): TargetState {
    return this.resolver(target).state;
  }

  /** Resolves a target: its snapshot, `missing`, or `pending` if the timeout passed first. */
  resolve(target: string, timeoutMs = this.resolveTimeoutMs): Promise<TargetState> {
    const r = this.resolver(target);
    if (r.state.kind !== 'pending') return Promise.resolve(r.state);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sub.dispose();
        resolve(r.state);
      }, timeoutMs);
      timer.unref?.();
      const sub = r.onChange((state) => {
        if (state.kind === 'pending') return;
        clearTimeout(timer);
        sub.dispose();
        resolve(state);
      });
    });
  }

  /** Debug view: every target and cluster Meshlet is tracking. */
  debugState(): { targets: Record<string, TargetState['kind']>; clusters: Record<string, string> } {
    const targets: Record<string, TargetState['kind']> = {};
    for (const [name, r] of this.targets) targets[name] = r.state.kind;
    const clusters: Record<string, string> = {};
    for (const [name, s] of this.clusters.runtimes()) clusters[name] = s.kind;
    return { targets, clusters };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.targets.values()) r.close();
    this.targets.clear();
    this.clusters.close();
  }

  private resolver(target: string): TargetResolver {
    let r = this.targets.get(target);
    if (!r) {
      if (this.closed) throw new Error('meshlet: the Mesh is closed');
      r = new TargetResolver(target, this.options.source, this.clusters, {
        nextVersion: () => ++this.version,
        onError: this.options.onError,
      });
      this.targets.set(target, r);
    }
    return r;
  }
}
