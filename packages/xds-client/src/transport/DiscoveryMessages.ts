import type { AnyMessage } from '../proto/EnvoyProtos.js';

/**
 * Client-side plain-object shapes of the envoy.service.discovery.v3 messages
 * (snake_case, as the ADS codec encodes and decodes them; unset fields absent).
 */

/** google.rpc.Status, carried in a NACK's `error_detail`. */
export interface RpcStatus {
  code?: number;
  message?: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: Record<string, unknown>;
  resource_names?: string[];
  type_url: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface DiscoveryResponse {
  version_info?: string;
  resources?: AnyMessage[];
  type_url?: string;
  nonce?: string;
}

export interface DeltaDiscoveryRequest {
  node?: Record<string, unknown>;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

/** envoy.service.discovery.v3.Resource. */
export interface DiscoveryResource {
  name?: string;
  version?: string;
  resource?: AnyMessage;
  aliases?: string[];
}

export interface DeltaDiscoveryResponse {
  system_version_info?: string;
  resources?: DiscoveryResource[];
  type_url?: string;
  removed_resources?: string[];
  nonce?: string;
}

/** google.rpc.Code INVALID_ARGUMENT: what Envoy and gRPC put in a NACK's error_detail. */
export const INVALID_ARGUMENT = 3;
