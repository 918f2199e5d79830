/**
 * `@meshlet/grpc/client`: mesh-routed gRPC calls (MeshChannel, the interceptor and client
 * options) without the xDS-managed server, which loads the core's server side (RBAC, filter
 * chains, downstream TLS, server spans). `@meshlet/grpc` exports this and the server.
 */
export { MeshChannel, createMeshChannel, type MeshChannelOptions } from './MeshChannel.js';
export { meshClientOptions } from './meshClientOptions.js';
export { meshInterceptor, type MeshInterceptorOptions } from './meshInterceptor.js';
export { meshTargetOf, type ListenerNaming } from './MeshTarget.js';
export { RESPONSE_FLAGS_KEY, statusForMeshError, statusForLocalReply } from './MeshCallStatus.js';
export { grpcStatusForHttp } from './HttpToGrpcStatus.js';
