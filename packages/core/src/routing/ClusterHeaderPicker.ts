import type { ClusterPicker, PickedCluster } from './ClusterPicker.js';
import type { HeaderLookup } from './RequestView.js';

/**
 * RouteAction.cluster_header: the cluster named by a request header. A missing or empty header picks
 * nothing (Envoy then answers cluster_not_found_response_code, default 503). Only the most recent
 * answer is cached, which covers the usual case of one cluster per caller without unbounded growth.
 */
export class ClusterHeaderPicker implements ClusterPicker {
  private last: PickedCluster | undefined;

  constructor(readonly headerName: string) {}

  pick(_random: number, headers: HeaderLookup): PickedCluster | undefined {
    const name = headers.get(this.headerName);
    if (name == null || name === '') return undefined;
    const last = this.last;
    if (last !== undefined && last.name === name) return last;
    return (this.last = Object.freeze({ name }));
  }
}
