import { Metadata, type MetadataValue } from '@grpc/grpc-js';

/**
 * grpc-js Metadata's own store: a Map from lower-case key to its values (`internalRepr`, a protected
 * member, so reachable from a subclass). Every `Metadata.set` tests its key and value against grpc-js's
 * character rules with two regular expressions, a measurable part of the mesh's work per gRPC call when
 * it adds the call's x-request-id; a value already known to be legal is written here instead.
 */
export class MetadataMap extends Metadata {
  /** The map behind `metadata`, or undefined when it is not one (another grpc-js's Metadata, a future layout): write through `set` then. */
  static of(metadata: Metadata): Map<string, MetadataValue[]> | undefined {
    const map: unknown = (metadata as MetadataMap).internalRepr;
    return map instanceof Map ? (map as Map<string, MetadataValue[]>) : undefined;
  }
}
