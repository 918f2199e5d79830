import type { AnyMessage } from '../proto/EnvoyProtos.js';

/**
 * The client's view, shaped like CSDS `envoy.service.status.v3.ClientConfig`
 * (gRFC A40) in protobufjs object form (snake_case), so a CSDS service can
 * encode it with `fromObject` as is.
 */
export interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

/** envoy.admin.v3.ClientResourceStatus values Meshlet reports. */
export type ClientResourceStatus = 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED';

export interface UpdateFailureState {
  readonly details: string;
  /** The version that was rejected. */
  readonly version_info: string;
  readonly last_update_attempt: Timestamp;
}

export interface GenericXdsConfig {
  readonly type_url: string;
  readonly name: string;
  /** The version of the resource in use ('' when none). */
  readonly version_info: string;
  /** The last accepted resource, as received. */
  readonly xds_config?: AnyMessage;
  readonly last_updated?: Timestamp;
  readonly client_status: ClientResourceStatus;
  /**
   * Meshlet extension (not in CSDS; protobufjs fromObject ignores it): the resource was served
   * from the last-known-good file and no xDS server has confirmed it yet. error_state says so.
   */
  readonly stale?: boolean;
  readonly error_state?: UpdateFailureState;
}

export interface ClientConfigDump {
  /** envoy.config.core.v3.Node as sent to the server (metadata in Struct object form). */
  readonly node: Record<string, unknown>;
  readonly generic_xds_configs: readonly GenericXdsConfig[];
}

export function toTimestamp(date: Date): Timestamp {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
