export * from './mesh/index.js';
export * from './routing/index.js';
export * from './cluster/index.js';
export * from './call/index.js';
export * from './rbac/index.js';
export * from './server/index.js';
export * from './identity/index.js';
export * from './telemetry/index.js';
