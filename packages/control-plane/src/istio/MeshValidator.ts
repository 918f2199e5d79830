import type { MeshConfigDiagnostic } from './MeshConfigError.js';
import { compileMesh, type TranslateOptions } from './MeshTranslator.js';

/**
 * Every finding about a mesh.yaml, errors and warnings, without throwing (what
 * `istioctl analyze` does for a cluster): syntax, unknown or unsupported fields,
 * bad values, and cross-resource problems (a subset a VirtualService routes to
 * but no DestinationRule defines, a host no ServiceEntry defines, a host defined
 * twice, weights that do not add up to 100, subsets that select no endpoint).
 */
export function validateMesh(docs: string, options: TranslateOptions = {}): MeshConfigDiagnostic[] {
  return compileMesh(docs, options).diagnostics;
}
