export { Mesh, type MeshOptions } from './Mesh.js';
export type { TargetSnapshot, TargetState } from './TargetSnapshot.js';
export { referencedClusters } from './referencedClusters.js';
