export * from './server/index.js';
export * from './meshfile/index.js';
