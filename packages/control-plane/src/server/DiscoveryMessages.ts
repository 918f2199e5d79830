import type { AnyMessage } from '@meshlet/xds-client';

/**
 * Plain-object shapes of the envoy.service.discovery.v3 messages, as the ADS codec decodes
 * them (snake_case, `defaults: false`, so unset scalars are absent) and as it encodes them.
 */

/** google.rpc.Status as carried in `error_detail`. */
export interface RpcStatus {
  code?: number;
  message?: string;
  details?: AnyMessage[];
}

/** envoy.config.core.v3.Node, kept loose: the server only reads `id` and echoes the rest. */
export interface NodeMessage {
  id?: string;
  cluster?: string;
  metadata?: unknown;
  [field: string]: unknown;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: NodeMessage;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface DeltaDiscoveryRequest {
  node?: NodeMessage;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

/** envoy.service.discovery.v3.Resource: one named, versioned resource in a delta response. */
export interface DeltaResource {
  name: string;
  version: string;
  resource: AnyMessage;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}
