import type * as grpc from '@grpc/grpc-js';
import { envoyRoot, TO_OBJECT } from '@meshlet/xds-client';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './DiscoveryMessages.js';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

type ProtoType = ReturnType<ReturnType<typeof envoyRoot>['lookupType']>;

/** Serializer pair for one message type: plain snake_case objects in, encoded bytes out (and back). */
function codec<T>(typeName: string): { serialize: (value: T) => Buffer; deserialize: (bytes: Buffer) => T } {
  let type: ProtoType | undefined;
  const lookup = (): ProtoType => (type ??= envoyRoot().lookupType(typeName));
  return {
    // fromObject rather than encode-as-is so enum names and string longs are accepted.
    serialize: (value) => Buffer.from(lookup().encode(lookup().fromObject(value as Record<string, unknown>)).finish()),
    // TO_OBJECT keeps `bytes` as Buffers, so Any payloads stay encoded: the server never needs
    // to understand the resources it serves, and the client side decodes them itself.
    deserialize: (bytes) => lookup().toObject(lookup().decode(bytes), TO_OBJECT) as T,
  };
}

export type AdsServiceDefinition = grpc.ServiceDefinition<{
  StreamAggregatedResources: grpc.handleBidiStreamingCall<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources: grpc.handleBidiStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
}>;

let definition: AdsServiceDefinition | undefined;

/**
 * The `envoy.service.discovery.v3.AggregatedDiscoveryService` definition, built from the
 * message types in the shared `envoyRoot()` so the protos are parsed once per process
 * (no second proto-loader pass over the same files).
 */
export function adsServiceDefinition(): AdsServiceDefinition {
  if (definition) return definition;
  const request = codec<DiscoveryRequest>('envoy.service.discovery.v3.DiscoveryRequest');
  const response = codec<DiscoveryResponse>('envoy.service.discovery.v3.DiscoveryResponse');
  const deltaRequest = codec<DeltaDiscoveryRequest>('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const deltaResponse = codec<DeltaDiscoveryResponse>('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  definition = {
    StreamAggregatedResources: {
      path: `/${SERVICE}/StreamAggregatedResources`,
      originalName: 'streamAggregatedResources',
      requestStream: true,
      responseStream: true,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
    },
    DeltaAggregatedResources: {
      path: `/${SERVICE}/DeltaAggregatedResources`,
      originalName: 'deltaAggregatedResources',
      requestStream: true,
      responseStream: true,
      requestSerialize: deltaRequest.serialize,
      requestDeserialize: deltaRequest.deserialize,
      responseSerialize: deltaResponse.serialize,
      responseDeserialize: deltaResponse.deserialize,
    },
  };
  return definition;
}
