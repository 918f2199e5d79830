import type { AnyMessage } from '../proto/EnvoyProtos.js';

/** The four v3 resource type URLs Meshlet consumes. */
export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_CONFIGURATION_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const CLUSTER_LOAD_ASSIGNMENT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

/**
 * One xDS resource type, as grpc-js-xds models them: how to decode an Any,
 * validate it into an immutable typed model, and compare two models so that
 * unchanged resources in a SotW response do not wake watchers.
 */
export interface ResourceType<T> {
  readonly typeUrl: string;
  /** LDS, RDS, CDS or EDS: used in logs, metrics and config dumps. */
  readonly shortName: 'LDS' | 'RDS' | 'CDS' | 'EDS';
  /** Whether a SotW response carries every subscribed resource (LDS, CDS): absence means deletion (A53). */
  readonly allResourcesRequiredInSotW: boolean;
  /**
   * Decodes and validates. Throws `ValidationError` (with field path and the
   * resource name when known) for anything malformed or unsupported-and-required.
   */
  decode(any: AnyMessage): { name: string; resource: T };
  /** Validates a plain proto object (snake_case, as decoded or as parsed from proto3 JSON). */
  fromObject(obj: Record<string, unknown>): { name: string; resource: T };
  equal(a: T, b: T): boolean;
}
