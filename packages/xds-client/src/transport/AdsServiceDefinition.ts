import type * as grpc from '@grpc/grpc-js';
import { messageCodec } from '../proto/MessageCodec.js';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

let definition: grpc.ServiceDefinition | undefined;

/** One bidi-streaming ADS method whose messages are protobufjs objects of the named types. */
function method(name: string, request: string, response: string): grpc.MethodDefinition<unknown, unknown> {
  const req = messageCodec<unknown>(`envoy.service.discovery.v3.${request}`);
  const res = messageCodec<unknown>(`envoy.service.discovery.v3.${response}`);
  return {
    path: `/${SERVICE}/${name}`,
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
    requestStream: true,
    responseStream: true,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  };
}

/**
 * `envoy.service.discovery.v3.AggregatedDiscoveryService` (state of the world and delta), shared
 * by the XdsClient's ADS client and the control-plane's ADS server. Messages are untyped here;
 * each side types them from its own point of view.
 */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  return (definition ??= {
    StreamAggregatedResources: method('StreamAggregatedResources', 'DiscoveryRequest', 'DiscoveryResponse'),
    DeltaAggregatedResources: method('DeltaAggregatedResources', 'DeltaDiscoveryRequest', 'DeltaDiscoveryResponse'),
  });
}
