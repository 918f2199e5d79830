export { FileSource } from './FileSource.js';
export type { FileSourceOptions } from './FileSource.js';
export { loadResourceFile, parseResourceFileText, LoadedResources, ResourceFileError } from './ResourceFile.js';
export { decodeResourceJson } from './ResourceJson.js';
export type { DecodedResource } from './ResourceJson.js';
