import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';

let grpc: typeof Grpc | undefined;

/**
 * @grpc/grpc-js, required on first use rather than imported at load: a mesh whose config
 * comes from a StaticResourceSource, a resource file or mesh.yaml never opens an xDS
 * channel, and grpc-js (about 65 modules, 2 MB RSS) is then not worth loading. grpc-js is
 * CommonJS, so this is the same module instance an ESM `import` elsewhere gets, and its
 * classes (credentials, Metadata) stay interchangeable.
 */
export function grpcJs(): typeof Grpc {
  return (grpc ??= createRequire(import.meta.url)('@grpc/grpc-js') as typeof Grpc);
}
