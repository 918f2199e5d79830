import type { ClusterPicker, PickedCluster } from './ClusterPicker.js';

/** RouteAction.cluster: always the same cluster (the result object is shared, not allocated per pick). */
export class SingleClusterPicker implements ClusterPicker {
  private readonly picked: PickedCluster;

  constructor(name: string) {
    this.picked = Object.freeze({ name });
  }

  pick(): PickedCluster {
    return this.picked;
  }
}
