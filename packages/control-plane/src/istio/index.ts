export { translateMesh, type TranslatedMesh, type TranslateOptions } from './MeshTranslator.js';
export { validateMesh } from './MeshValidator.js';
export { MeshConfigError, formatDiagnostic, type MeshConfigDiagnostic } from './MeshConfigError.js';
