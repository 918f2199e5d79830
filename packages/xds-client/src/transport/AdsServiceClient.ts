import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './GrpcJs.js';
import { adsServiceDefinition } from './AdsServiceDefinition.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './DiscoveryMessages.js';

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
  ctor = grpcJs().makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService') as unknown as AdsServiceClientConstructor;
  return ctor;
}
