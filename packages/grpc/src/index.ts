export * from './client.js';
export * from './server/index.js';
