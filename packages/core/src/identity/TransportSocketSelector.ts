import type { Metadata, TransportSocket, TransportSocketMatch } from '@meshlet/xds-client';
import { isDeepStrictEqual } from 'node:util';

/** The endpoint metadata namespace transport_socket_matches are matched against. */
export const TRANSPORT_SOCKET_MATCH_NAMESPACE = 'envoy.transport_socket_match';

export interface ClusterTransportConfig {
  readonly name: string;
  readonly transport_socket?: TransportSocket;
  readonly transport_socket_matches: readonly TransportSocketMatch[];
}

export interface SelectedTransportSocket {
  /** undefined: the cluster has no transport_socket, which in Envoy means raw_buffer. */
  readonly socket: TransportSocket | undefined;
  /** The transport_socket_matches entry that matched, if any. */
  readonly match: TransportSocketMatch | undefined;
}

/**
 * Envoy's transport socket selection: the first transport_socket_matches entry whose `match` is a
 * subset of the endpoint's `envoy.transport_socket_match` metadata (an empty `match` matches every
 * endpoint) wins; with no match, the cluster's transport_socket. This is how Istio sends mTLS only to
 * endpoints labelled `tlsMode: istio` (sidecar or proxyless peers) and plaintext to the rest.
 */
export function selectTransportSocket(cluster: ClusterTransportConfig, endpointMetadata: Metadata | undefined): SelectedTransportSocket {
  // Called per attempt: without transport_socket_matches the selection is the cluster's socket, one
  // record per (immutable) cluster model instead of one per attempt.
  if (cluster.transport_socket_matches.length === 0) return clusterSocketOf(cluster);
  const labels = endpointMetadata?.[TRANSPORT_SOCKET_MATCH_NAMESPACE] ?? NO_LABELS;
  for (const m of cluster.transport_socket_matches) {
    if (Object.entries(m.match).every(([k, v]) => Object.hasOwn(labels, k) && isDeepStrictEqual(labels[k], v))) {
      return { socket: m.transport_socket, match: m };
    }
  }
  return { socket: cluster.transport_socket, match: undefined };
}

const NO_LABELS: Readonly<Record<string, unknown>> = Object.freeze({});
const CLUSTER_SOCKETS = new WeakMap<ClusterTransportConfig, SelectedTransportSocket>();

function clusterSocketOf(cluster: ClusterTransportConfig): SelectedTransportSocket {
  let selected = CLUSTER_SOCKETS.get(cluster);
  if (selected === undefined) {
    selected = Object.freeze({ socket: cluster.transport_socket, match: undefined });
    CLUSTER_SOCKETS.set(cluster, selected);
  }
  return selected;
}
