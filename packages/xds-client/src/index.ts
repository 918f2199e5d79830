export type * from './resources/model.js';
export { ValidationError } from './resources/ValidationError.js';
export * from './resources/ResourceType.js';
export * from './proto/EnvoyProtos.js';
export type * from './client/ResourceSource.js';
