import type * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition as sharedAdsServiceDefinition } from '@meshlet/xds-client';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './DiscoveryMessages.js';

export type AdsServiceDefinition = grpc.ServiceDefinition<{
  StreamAggregatedResources: grpc.handleBidiStreamingCall<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources: grpc.handleBidiStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
}>;

/**
 * The `envoy.service.discovery.v3.AggregatedDiscoveryService` definition the XdsClient also uses
 * (built over the shared `envoyRoot()` message types, Any payloads kept as bytes), typed with the
 * messages as the server sees them.
 */
export function adsServiceDefinition(): AdsServiceDefinition {
  return sharedAdsServiceDefinition() as unknown as AdsServiceDefinition;
}
