export { MeshChannel, createMeshChannel, type MeshChannelOptions } from './MeshChannel.js';
export { meshClientOptions } from './meshClientOptions.js';
export { meshInterceptor, type MeshInterceptorOptions } from './meshInterceptor.js';
export { meshTargetOf, type ListenerNaming } from './MeshTarget.js';
export { RESPONSE_FLAGS_KEY, statusForMeshError, statusForLocalReply } from './MeshCallStatus.js';
export { grpcStatusForHttp } from './HttpToGrpcStatus.js';
export * from './server/index.js';
