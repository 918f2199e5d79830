import * as grpc from '@grpc/grpc-js';
import { envoyRoot, TO_OBJECT } from '../proto/EnvoyProtos.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './DiscoveryMessages.js';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

type ProtoType = ReturnType<ReturnType<typeof envoyRoot>['lookupType']>;

/** Encoder/decoder for one message type, resolved lazily from the shared root. */
function serializers<T>(typeName: string): { serialize: (value: T) => Buffer; deserialize: (bytes: Buffer) => T } {
  let type: ProtoType | undefined;
  const lookup = (): ProtoType => (type ??= envoyRoot().lookupType(typeName));
  return {
    // fromObject so enum names and string longs are accepted in the plain objects we build.
    serialize: (value) => Buffer.from(lookup().encode(lookup().fromObject(value as Record<string, unknown>)).finish()),
    // TO_OBJECT keeps Any payloads as bytes; each ResourceType decodes and validates its own.
    deserialize: (bytes) => lookup().toObject(lookup().decode(bytes), TO_OBJECT) as T,
  };
}

/** The two ADS methods as a grpc-js client. */
export interface AdsServiceClient extends grpc.Client {
  StreamAggregatedResources(options?: grpc.CallOptions): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(options?: grpc.CallOptions): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
}

type AdsServiceClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => AdsServiceClient;

let ctor: AdsServiceClientConstructor | undefined;

/**
 * The AggregatedDiscoveryService client class, built from the message types
 * already in `envoyRoot()` (the protos are parsed once per process; no second
 * proto-loader pass).
 */
export function adsServiceClientConstructor(): AdsServiceClientConstructor {
  if (ctor) return ctor;
  const req = serializers<DiscoveryRequest>('envoy.service.discovery.v3.DiscoveryRequest');
  const res = serializers<DiscoveryResponse>('envoy.service.discovery.v3.DiscoveryResponse');
  const dreq = serializers<DeltaDiscoveryRequest>('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const dres = serializers<DeltaDiscoveryResponse>('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const definition: grpc.ServiceDefinition = {
    StreamAggregatedResources: {
      path: `/${SERVICE}/StreamAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
    },
    DeltaAggregatedResources: {
      path: `/${SERVICE}/DeltaAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: dreq.serialize,
      requestDeserialize: dreq.deserialize,
      responseSerialize: dres.serialize,
      responseDeserialize: dres.deserialize,
    },
  };
  ctor = grpc.makeGenericClientConstructor(definition, 'AggregatedDiscoveryService') as unknown as AdsServiceClientConstructor;
  return ctor;
}
