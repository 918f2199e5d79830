// Build step, run after tsc: parses the Envoy .proto tree that @grpc/grpc-js-xds ships and writes
// the trimmed protobufjs JSON descriptor, split per top-level type (DescriptorRoot.splitDescriptor),
// and the names of the types left out of it, to dist/proto/, where EnvoyProtos.js loads it instead
// of parsing .proto files at runtime and builds each type on its first lookup. The output is derived
// from the installed protos and is never committed. Skipped when it is newer than its inputs.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/proto/', import.meta.url);
const { DESCRIPTOR_FILE, OTHER_TYPES_FILE, splitDescriptor, typeNamesOf } = await import(new URL('DescriptorRoot.js', dist).href);
const { CORE_PROTO_FILES, EXTENDED_PROTO_FILES, parseEnvoyProtos } = await import(new URL('EnvoyProtoFiles.js', dist).href);
const { trimmedDescriptor } = await import(new URL('TrimmedDescriptor.js', dist).href);

const outputs = [DESCRIPTOR_FILE, OTHER_TYPES_FILE].map((f) => fileURLToPath(new URL(f, dist)));
const inputs = [
  fileURLToPath(new URL('EnvoyProtoFiles.js', dist)),
  fileURLToPath(new URL('TrimmedDescriptor.js', dist)),
  fileURLToPath(new URL('DescriptorRoot.js', dist)),
  fileURLToPath(import.meta.url),
  // A new @grpc/grpc-js-xds brings new protos.
  createRequire(fileURLToPath(new URL('EnvoyProtoFiles.js', dist))).resolve('@grpc/grpc-js-xds/package.json'),
];
const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
if (!process.argv.includes('--force') && outputs.every((f) => existsSync(f) && statSync(f).mtimeMs > newest)) process.exit(0);

const root = parseEnvoyProtos(CORE_PROTO_FILES);
const descriptor = trimmedDescriptor(root, CORE_PROTO_FILES);
const kept = new Set(typeNamesOf((await import('protobufjs')).default.Root.fromJSON(descriptor)));
parseEnvoyProtos(EXTENDED_PROTO_FILES, root);
const others = typeNamesOf(root).filter((name) => !kept.has(name));
writeFileSync(outputs[0], JSON.stringify(splitDescriptor(descriptor)));
writeFileSync(outputs[1], JSON.stringify(others));
console.log(`envoy descriptor: ${kept.size} types kept, ${others.length} left to the .proto fallback`);
