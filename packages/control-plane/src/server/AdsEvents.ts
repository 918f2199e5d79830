import type { NodeMessage, RpcStatus } from './DiscoveryMessages.js';

/** Payload of the `request` event: one DiscoveryRequest or DeltaDiscoveryRequest as received. */
export interface AdsRequestEvent {
  streamId: number;
  typeUrl: string;
  /** The node id; requests after the first on a stream may omit `node`, so it is remembered per stream. */
  nodeId: string;
  node: NodeMessage | undefined;
  /** SotW `version_info`; '' for delta requests. */
  versionInfo: string;
  responseNonce: string;
  /** SotW `resource_names`, or delta `resource_names_subscribe`. */
  resourceNames: string[];
  /** Delta only: `resource_names_unsubscribe`. */
  resourceNamesUnsubscribe?: string[];
  /** Delta only: `initial_resource_versions`. */
  initialResourceVersions?: Record<string, string>;
  errorDetail?: RpcStatus;
  delta: boolean;
}

/** Payload of `ack` and `nack`: a request whose response_nonce names the latest response of its type. */
export interface AdsAckEvent {
  streamId: number;
  typeUrl: string;
  nodeId: string;
  /**
   * SotW: the request's `version_info` (on a NACK, the version the client still uses).
   * Delta: the `system_version_info` of the response being acknowledged.
   */
  versionInfo: string;
  nonce: string;
  /** Present on `nack` only. */
  errorDetail?: { code: number; message: string };
  delta: boolean;
}

/** Payload of `stream-open` and `stream-close`. */
export interface AdsStreamEvent {
  streamId: number;
  delta: boolean;
  peer: string;
  /** Known once the stream's first request has arrived. */
  nodeId?: string;
}
