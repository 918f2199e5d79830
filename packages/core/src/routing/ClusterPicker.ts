import type { ClusterWeight } from '@meshlet/xds-client';
import type { HeaderLookup } from './RequestView.js';

/** The upstream cluster chosen for one request; `weight` is set when it came from weighted_clusters. */
export interface PickedCluster {
  readonly name: string;
  readonly weight?: ClusterWeight;
}

/**
 * Chooses the cluster of a RouteAction (cluster / cluster_header / weighted_clusters).
 * `random` is in [0,1). undefined = no cluster (Envoy answers with cluster_not_found_response_code).
 */
export interface ClusterPicker {
  pick(random: number, headers: HeaderLookup): PickedCluster | undefined;
}
