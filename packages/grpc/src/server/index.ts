export { MeshServer, type MeshServerOptions } from './MeshServer.js';
export { MeshServerCredentials } from './MeshServerCredentials.js';
export { peerIdentity, peerSpiffeId, type HasAuthContext } from './peerIdentity.js';
export type { ServingStatus, ServingStatusListener } from './ServingStatus.js';
export { listeningAddressText, serverListenerResourceName } from './ServerListenerName.js';
