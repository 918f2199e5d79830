import { existsSync, readFileSync } from 'node:fs';
import type protobuf from 'protobufjs';
import { protobufjs } from './Protobufjs.js';
import { DESCRIPTOR_FILE, OTHER_TYPES_FILE, rootFromDescriptor, splitDescriptor, typeNamesOf, type SplitDescriptor } from './DescriptorRoot.js';
import { CORE_PROTO_FILES, EXTENDED_PROTO_FILES, parseEnvoyProtos } from './EnvoyProtoFiles.js';
import { trimmedDescriptor } from './TrimmedDescriptor.js';

let root: protobuf.Root | undefined;
/** What every Root built here shares: the split descriptor, and the `.proto` fallback (parsed once, on a miss). */
let split: SplitDescriptor | undefined;
let full: protobuf.Root | undefined;
let otherTypes: ReadonlySet<string> | undefined;
const parseFull = (): protobuf.Root => (full ??= parseEnvoyProtos([...CORE_PROTO_FILES, ...EXTENDED_PROTO_FILES]));

/**
 * A Root over the split descriptor that builds each type on its first lookup (DescriptorRoot.ts).
 * Built packages load the trimmed descriptor the build wrote next to this module: the whole
 * descriptor built up front measured +5.6 MB RSS / +2.5 MB heap, against +14 MB / +5 MB for
 * parsing the core `.proto` files. Without it (tests run from src/), the same descriptor is made
 * in-process from the parsed core `.proto` files (about 0.1 s more than parsing alone), so tests
 * exercise the Root that built packages use: types built on demand, fields resolved on first use.
 */
function lazyRoot(): protobuf.Root {
  const descriptor = new URL(`./${DESCRIPTOR_FILE}`, import.meta.url);
  if (existsSync(descriptor)) {
    split ??= JSON.parse(readFileSync(descriptor, 'utf8')) as SplitDescriptor;
    return rootFromDescriptor(
      split,
      () => (otherTypes ??= new Set(JSON.parse(readFileSync(new URL(`./${OTHER_TYPES_FILE}`, import.meta.url), 'utf8')) as string[])),
      parseFull,
    );
  }
  split ??= splitDescriptor(trimmedDescriptor(parseEnvoyProtos(CORE_PROTO_FILES), CORE_PROTO_FILES));
  // Every name of the full tree: a name the trimmed set holds never reaches this check.
  return rootFromDescriptor(split, () => (otherTypes ??= new Set(typeNamesOf(parseFull()))), parseFull);
}

/**
 * The shared, lazily loaded protobufjs Root with every Envoy type Meshlet reads.
 * Lookups that miss the trimmed set load the rest once and retry, so callers never need
 * to know which set a type lives in.
 */
export function envoyRoot(): protobuf.Root {
  return (root ??= lazyRoot());
}

let conversion: WeakRef<protobuf.Root> | undefined;

/**
 * A Root of the same types for proto3 JSON conversion (ProtoJson.ts), held weakly. Converting a
 * config builds the reflection of every message it names, and their encoders for its Anys: 182
 * types for the footprint benchmark's static config, about 1 MB of heap that the shared root kept
 * for the life of the process, while decoding and validating the result needs few of them (the
 * footprint pass that split them off measured heapUsed -0.9 to -1.3 MB). This one goes when no
 * conversion holds it; the next conversion builds another, type by type, from the same split
 * descriptor. Only plain object forms and bytes leave a conversion, so nothing mixes the roots' types.
 */
export function conversionRoot(): protobuf.Root {
  let r = conversion?.deref();
  if (r === undefined) {
    r = lazyRoot();
    conversion = new WeakRef(r);
  }
  return r;
}

/** Options for turning decoded messages into the plain objects the validators read. */
export const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: Buffer as unknown as StringConstructor, // keep bytes as Buffers
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: false,
};

export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/** The fully qualified message name of a type URL (`type.googleapis.com/x.y.Z` -> `x.y.Z`). */
export function typeNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

/** The message type for a name or type URL, or undefined when Meshlet has not loaded it. */
export function lookupMessage(nameOrTypeUrl: string, from: protobuf.Root = envoyRoot()): protobuf.Type | undefined {
  try {
    return from.lookupType(typeNameOf(nameOrTypeUrl));
  } catch {
    return undefined;
  }
}

/** Decodes an Any into a plain snake_case object; undefined when the type is not known. */
export function decodeAny(any: AnyMessage): Record<string, unknown> | undefined {
  const type = lookupMessage(any.type_url);
  if (!type) return undefined;
  return type.toObject(type.decode(strictReader(any.value)), TO_OBJECT) as Record<string, unknown>;
}

/**
 * A protobufjs Reader over `bytes` that rejects a string field running past the end.
 * protobufjs's BufferReader (used for every Buffer) clamps such a string instead of throwing,
 * so a truncated resource would decode "successfully" into a different one; nested messages
 * share the reader, so the check covers them too.
 */
export function strictReader(bytes: Uint8Array): protobuf.Reader {
  const reader = protobufjs().Reader.create(bytes);
  reader.string = strictString;
  return reader;
}

/**
 * One function for every strict reader (not a closure per reader). A Node Buffer decodes the
 * bytes in place (`utf8Slice`, as protobufjs's own BufferReader does); only a plain Uint8Array
 * needs a Buffer view over it, which the config-scale profile showed at 3 to 4% when made per string.
 */
function strictString(this: protobuf.Reader): string {
  const length = this.uint32();
  const start = this.pos;
  if (start + length > this.len) throw new RangeError(`index out of range: ${start} + ${length} > ${this.len}`);
  this.pos = start + length;
  const buf = this.buf as Uint8Array & { utf8Slice?: (start: number, end: number) => string };
  return buf.utf8Slice !== undefined ? buf.utf8Slice(start, start + length) : Buffer.from(buf.buffer, buf.byteOffset + start, length).toString('utf8');
}

/** Encodes a plain object (protobufjs object form, snake_case) as an Any. */
export function encodeAny(typeName: string, value: Record<string, unknown>): AnyMessage {
  const type = envoyRoot().lookupType(typeNameOf(typeName));
  // fromObject (not verify) so enum names and long strings are accepted, as in proto3 JSON.
  return { type_url: `type.googleapis.com/${type.fullName.replace(/^\./, '')}`, value: type.encode(type.fromObject(value)).finish() };
}
