export * from './server/index.js';
export * from './istio/index.js';
export * from './meshfile/index.js';
