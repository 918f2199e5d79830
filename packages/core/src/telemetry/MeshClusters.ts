import type { ClusterRuntime } from '../cluster/ClusterRuntime.js';
import type { Mesh } from '../mesh/Mesh.js';

/**
 * Every cluster runtime the mesh currently serves, found through the ready targets'
 * snapshots (the public view; a cluster shared by several targets appears once).
 */
export function meshClusters(mesh: Mesh): Map<string, ClusterRuntime> {
  const out = new Map<string, ClusterRuntime>();
  for (const [target, kind] of Object.entries(mesh.debugState().targets)) {
    if (kind !== 'ready') continue;
    const state = mesh.state(target);
    if (state.kind !== 'ready') continue;
    for (const name of state.snapshot.clusterNames) {
      if (out.has(name)) continue;
      const runtime = state.snapshot.cluster(name);
      if (runtime !== undefined) out.set(name, runtime);
    }
  }
  return out;
}
