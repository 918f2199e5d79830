export type * from './resources/model.js';
export { ValidationError } from './resources/ValidationError.js';
export * from './resources/ResourceType.js';
export * from './resources/index.js';
export * from './proto/EnvoyProtos.js';
export * from './bootstrap/index.js';
export * from './client/index.js';
export * from './file/index.js';
export * from './static/index.js';
