export { MeshDispatcher, createMeshDispatcher, type MeshDispatcherOptions } from './MeshDispatcher.js';
export { meshInterceptor, type MeshInterceptorOptions } from './meshInterceptor.js';
export { targetOf } from './targetOf.js';
export { DEFAULT_MAX_REPLAY_BYTES } from './ReplayableBody.js';
