import type protobuf from 'protobufjs';
import { envoyRoot, TO_OBJECT } from './EnvoyProtos.js';
import { decodeDeltaDiscoveryResponseWire, decodeDiscoveryResponseWire } from './DiscoveryResponseWire.js';
import { encodeDeltaDiscoveryRequestWire, encodeDeltaDiscoveryResponseWire, encodeDiscoveryRequestWire, encodeDiscoveryResponseWire } from './DiscoveryMessageWire.js';

/** grpc-js serializer pair for one message type of the shared Envoy root. */
export interface MessageCodec<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

/**
 * One-pass decoders for the common shape of the messages a client receives in bulk, giving the
 * same object form as the general path; undefined sends a message to the general path.
 */
const WIRE_DECODERS: ReadonlyMap<string, (bytes: Buffer) => unknown> = new Map<string, (bytes: Buffer) => unknown>([
  ['envoy.service.discovery.v3.DiscoveryResponse', decodeDiscoveryResponseWire],
  ['envoy.service.discovery.v3.DeltaDiscoveryResponse', decodeDeltaDiscoveryResponseWire],
]);

/**
 * One-pass encoders for the common shape of the messages sent in bulk (a client's subscription
 * of many names, a control plane's response of many resources), giving the bytes the general
 * path would; undefined sends a message to it.
 */
const WIRE_ENCODERS: ReadonlyMap<string, (value: Readonly<Record<string, unknown>>) => Buffer | undefined> = new Map([
  ['envoy.service.discovery.v3.DiscoveryRequest', encodeDiscoveryRequestWire],
  ['envoy.service.discovery.v3.DeltaDiscoveryRequest', encodeDeltaDiscoveryRequestWire],
  ['envoy.service.discovery.v3.DiscoveryResponse', encodeDiscoveryResponseWire],
  ['envoy.service.discovery.v3.DeltaDiscoveryResponse', encodeDeltaDiscoveryResponseWire],
]);

/**
 * Serializers over the message types already in `envoyRoot()`, so gRPC services (ADS, CSDS)
 * need no second proto-loader pass over the same files. The type is looked up on first use.
 */
export function messageCodec<T>(typeName: string): MessageCodec<T> {
  let type: protobuf.Type | undefined;
  const lookup = (): protobuf.Type => (type ??= envoyRoot().lookupType(typeName));
  const fast = WIRE_DECODERS.get(typeName);
  const fastEncode = WIRE_ENCODERS.get(typeName);
  return {
    // fromObject rather than encode-as-is, so enum names and string longs are accepted.
    serialize: (value) =>
      fastEncode?.(value as Record<string, unknown>) ?? Buffer.from(lookup().encode(lookup().fromObject(value as Record<string, unknown>)).finish()),
    // TO_OBJECT keeps `bytes` as Buffers: Any payloads stay encoded, and each ResourceType (or
    // a server that only relays them) decides whether to decode them.
    deserialize: (bytes) => (fast?.(bytes) ?? lookup().toObject(lookup().decode(bytes), TO_OBJECT)) as T,
  };
}
