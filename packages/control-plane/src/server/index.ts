export { AdsServer, type AdsServerOptions, type AdsSnapshot } from './AdsServer.js';
export type { AdsAckEvent, AdsRequestEvent, AdsStreamEvent } from './AdsEvents.js';
export { adsServiceDefinition, type AdsServiceDefinition } from './AdsServiceDefinition.js';
export type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DeltaResource,
  DiscoveryRequest,
  DiscoveryResponse,
  NodeMessage,
  RpcStatus,
} from './DiscoveryMessages.js';
export { resourceVersionOf } from './ResourceStore.js';
export { publishResourceFiles } from './ResourceFiles.js';
