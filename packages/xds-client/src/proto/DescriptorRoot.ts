import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';
import { protobufjs } from './Protobufjs.js';

/** Written by the build (scripts/build-envoy-descriptor.mjs) next to the compiled EnvoyProtos.js. */
export const DESCRIPTOR_FILE = 'envoy-descriptor.json';
/** The full names of the types the `.proto` sources define beyond the descriptor, one JSON array. */
export const OTHER_TYPES_FILE = 'envoy-other-types.json';

/**
 * The trimmed descriptor cut into its top-level messages, enums and services: full name (no
 * leading dot) -> the JSON text of that object's protobufjs descriptor, nested types included,
 * with every field and method type written fully qualified (`.envoy.config.core.v3.Address`).
 *
 * Why: a process decodes a few dozen of the 448 types (the static footprint config sets up 35,
 * and their fields reach 90 of the 241 top-level objects), but `Root.fromJSON` builds reflection
 * objects for all of them. Split this way, each object can be built the first time something
 * looks it up; fully qualified names make every field resolve through the root, where that
 * lookup is caught, whatever has been built so far. Text (not parsed JSON) costs one string per
 * object until it is built.
 */
export type SplitDescriptor = Readonly<Record<string, string>>;

/** Cuts a (trimmed) descriptor into a SplitDescriptor. Run by the build, and by tests from src/. */
export function splitDescriptor(descriptor: protobuf.INamespace): Record<string, string> {
  const root = protobufjs().Root.fromJSON(descriptor); // resolves every reference
  const split: Record<string, string> = {};
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobufjs().Type || obj instanceof protobufjs().Enum || obj instanceof protobufjs().Service) {
        qualifyReferences(obj);
        split[obj.fullName.slice(1)] = JSON.stringify(obj.toJSON());
      } else if (obj instanceof protobufjs().Namespace) {
        walk(obj);
      }
    }
  };
  walk(root);
  return split;
}

/** Rewrites the type names `obj` (and its nested types) refers to as their resolved full names. */
function qualifyReferences(obj: protobuf.ReflectionObject): void {
  if (obj instanceof protobufjs().Type) {
    for (const field of obj.fieldsArray) if (field.resolvedType) field.type = field.resolvedType.fullName;
    for (const nested of obj.nestedArray) qualifyReferences(nested);
  } else if (obj instanceof protobufjs().Service) {
    for (const method of obj.methodsArray) {
      method.requestType = method.resolvedRequestType!.fullName;
      method.responseType = method.resolvedResponseType!.fullName;
    }
  }
}

/**
 * protobufjs internals the lazy root relies on: every lookup that reaches the root, absolute or
 * walking up from a nested namespace, goes through its `_lookupImpl`; a newly added object gets
 * its features (proto2/proto3 defaults) from `_resolveFeaturesRecursive(_edition)`.
 */
interface RootInternals {
  _lookupImpl(path: string[], flatPath: string): protobuf.ReflectionObject | null;
  _edition: string;
}

/**
 * The protobufjs releases those internals are tested with: the range package.json declares
 * (protobufjs-internals.test.ts keeps the two equal). A tilde range, not a caret: internals can
 * change in any minor release, and an install that picked such a release must fail loudly.
 */
export const SUPPORTED_PROTOBUFJS = '~7.6.6';

/** Builds each top-level object of `split` the first time a lookup reaches `root` for it or a name inside it. */
function buildOnLookup(root: protobuf.Root, split: SplitDescriptor): void {
  const internals = root as unknown as RootInternals;
  const pending = new Map(Object.entries(split));
  const build = (name: string, json: string): void => {
    pending.delete(name);
    const dot = name.lastIndexOf('.');
    const ns = dot < 0 ? root : root.define(name.slice(0, dot));
    ns.addJSON({ [name.slice(dot + 1)]: JSON.parse(json) as protobuf.AnyNestedObject });
    // What Root.fromJSON's resolveAll does first (proto2/proto3 defaults such as packed
    // encoding); it walks only the namespaces this add marked.
    root._resolveFeaturesRecursive(internals._edition);
    const built = ns.get(name.slice(dot + 1));
    if (built instanceof protobufjs().Type) generateCodecsOnFirstCall(built);
  };
  const lookupImpl = internals._lookupImpl;
  internals._lookupImpl = function (path: string[], flatPath: string) {
    if (pending.size > 0) {
      // The object itself, or the top-level message a nested name lives in.
      for (let name = flatPath; ; ) {
        const json = pending.get(name);
        if (json !== undefined) {
          build(name, json);
          break;
        }
        const dot = name.lastIndexOf('.');
        if (dot < 0) break;
        name = name.slice(0, dot);
      }
    }
    return lookupImpl.call(this, path, flatPath);
  };
}

type Codec = 'encode' | 'decode' | 'verify' | 'fromObject' | 'toObject';
type Generated = (...args: unknown[]) => unknown;
type TypeCodecs = Record<Codec, Generated> & { setup(): protobuf.Type };

/** protobufjs's code generators, one per codec, each called with the scope its `Type.setup` passes. */
const GENERATORS: Readonly<Record<Codec, (type: protobuf.Type, types: unknown[]) => Generated>> = {
  encode: (type, types) => {
    const pb = protobufjs();
    return pb.encoder(type)({ Writer: pb.Writer, types, util: pb.util }) as Generated;
  },
  decode: (type, types) => {
    const pb = protobufjs();
    return pb.decoder(type)({ Reader: pb.Reader, types, util: pb.util }) as Generated;
  },
  verify: (type, types) => protobufjs().verifier(type)({ types, util: protobufjs().util }) as Generated,
  fromObject: (type, types) => protobufjs().converter.fromObject(type)({ types, util: protobufjs().util }) as Generated,
  toObject: (type, types) => protobufjs().converter.toObject(type)({ types, util: protobufjs().util }) as Generated,
};
const CODECS = Object.keys(GENERATORS) as Codec[];

/** Generates one codec of `type` and puts it on the type, where protobufjs's setup puts it. */
function generateCodec(type: protobuf.Type, codec: Codec): Generated {
  // As setup does: every field resolved, in declaration order, which the generated code indexes.
  const fieldTypes = type.fieldsArray.map((field) => field.resolve().resolvedType);
  return ((type as unknown as TypeCodecs)[codec] = GENERATORS[codec](type, fieldTypes));
}

/**
 * One shared function per codec (not a closure per type: a static config builds about 180 types
 * and calls codecs on about 40), which generates the type's codec and calls it.
 */
const ON_FIRST_CALL = Object.fromEntries(
  CODECS.map((codec) => [
    codec,
    function onFirstCall(this: protobuf.Type, ...args: unknown[]): unknown {
      return generateCodec(this, codec).apply(this, args);
    },
  ]),
) as Readonly<Record<Codec, Generated>>;

/** For anyone calling setup(): every codec generated and the type returned, as protobufjs's setup does. */
function setupEveryCodec(this: protobuf.Type): protobuf.Type {
  const own = this as unknown as TypeCodecs;
  for (const codec of CODECS) if (own[codec] === ON_FIRST_CALL[codec]) generateCodec(this, codec);
  return this;
}

/**
 * Gives `type` and the types nested in it codecs generated one at a time, on each one's first
 * call, where protobufjs's `Type.setup` generates all five the first time any is called.
 *
 * Why: a static config's load set up 41 types, 587 KB of generated source, and most of it is
 * never called: `verify` never (Meshlet validates the decoded objects itself), encode and decode
 * only for the few types that travel as Any bytes. What a load allocates that outlives a
 * young-generation GC counts toward V8 enlarging the young generation, which then stays large
 * (bench/HISTORY.md, footprint sixth pass). After its first call a codec is the generated function
 * itself, an own property as protobufjs's setup leaves it, so decoding pays no extra call.
 *
 * A type protobufjs wraps (google.protobuf.Any: its setup composes the wrapper with the generated
 * fromObject and toObject) keeps protobufjs's own setup.
 */
function generateCodecsOnFirstCall(type: protobuf.Type): void {
  for (const nested of type.nestedArray) if (nested instanceof protobufjs().Type) generateCodecsOnFirstCall(nested);
  if (protobufjs().wrappers[type.fullName] !== undefined) return;
  const own = type as unknown as TypeCodecs;
  for (const codec of CODECS) own[codec] = ON_FIRST_CALL[codec];
  own.setup = setupEveryCodec;
}

/** Two messages, one naming the other fully qualified, as splitDescriptor writes them. */
const PROBE: SplitDescriptor = {
  'meshlet.probe.Outer': JSON.stringify({ fields: { inner: { type: '.meshlet.probe.Inner', id: 1 } } }),
  'meshlet.probe.Inner': JSON.stringify({ fields: { text: { type: 'string', id: 1 } } }),
};

/** What is wrong with protobufjs's code generators for generateCodecsOnFirstCall, or undefined. */
function codecGenerationProblem(outer: protobuf.Type): string | undefined {
  const pb = protobufjs();
  const generators = { encoder: pb.encoder, decoder: pb.decoder, verifier: pb.verifier, converter: pb.converter?.fromObject };
  for (const [name, generator] of Object.entries(generators)) if (typeof generator !== 'function') return `protobufjs exports no ${name} code generator`;
  try {
    const bytes = outer.encode(outer.fromObject({ inner: { text: 'probe' } })).finish();
    const back = outer.toObject(outer.decode(bytes)) as { inner?: { text?: unknown } };
    if (back.inner?.text !== 'probe' || outer.verify({ inner: { text: 1 } }) === null) return 'codecs generated one at a time did not round-trip a message';
  } catch (err) {
    return `codecs generated one at a time failed (${err instanceof Error ? err.message : String(err)})`;
  }
  return undefined;
}

/**
 * What is wrong with `Root` for the lazy root, or undefined when nothing is: the internals are
 * there, and a lazy root built on them builds a type on lookup and resolves its field's type
 * (built on that lookup too) through the root. Costs one small Root, built once per process.
 */
export function protobufjsInternalsProblem(Root: new () => protobuf.Root): string | undefined {
  const root = new Root();
  const internals = root as unknown as Partial<RootInternals> & { _resolveFeaturesRecursive?: unknown };
  if (typeof internals._lookupImpl !== 'function') return 'Root has no _lookupImpl method';
  if (typeof internals._edition !== 'string') return 'Root has no _edition string';
  if (typeof internals._resolveFeaturesRecursive !== 'function') return 'Root has no _resolveFeaturesRecursive method';
  try {
    buildOnLookup(root, PROBE);
    const outer = root.lookupType('meshlet.probe.Outer');
    outer.resolveAll();
    const field = outer.fields.inner;
    if (field?.resolvedType?.fullName !== '.meshlet.probe.Inner') return "a field's type was not resolved through Root._lookupImpl";
  } catch (err) {
    return `a type was not built through Root._lookupImpl (${err instanceof Error ? err.message : String(err)})`;
  }
  return codecGenerationProblem(root.lookupType('meshlet.probe.Outer'));
}

function loadedProtobufjsVersion(): string {
  try {
    return (createRequire(import.meta.url)('protobufjs/package.json') as { version: string }).version;
  } catch {
    return 'of unknown version';
  }
}

/**
 * Throws, naming the protobufjs version loaded and the range supported, when `Root` lacks what
 * the lazy root relies on. Run before the first lazy root is built (protobufjs is loaded on
 * first use, Protobufjs.ts), so a protobufjs release that changed them fails with this message
 * before anything is decoded with it, instead of decoding wrongly or failing deep in a lookup.
 */
export function assertProtobufjsInternals(Root: new () => protobuf.Root = protobufjs().Root, version: () => string = loadedProtobufjsVersion): void {
  const problem = protobufjsInternalsProblem(Root);
  if (problem === undefined) return;
  throw new Error(
    `@meshlet/xds-client supports protobufjs ${SUPPORTED_PROTOBUFJS}, but protobufjs ${version()} is loaded: ${problem}. ` +
      `Install a protobufjs version in ${SUPPORTED_PROTOBUFJS} (e.g. with your package manager's overrides).`,
  );
}

/** Whether this process's protobufjs passed assertProtobufjsInternals (checked once, before the first lazy root). */
let internalsChecked = false;

/**
 * A Root that builds each top-level object of `split` on its first lookup, whether by name
 * (`lookupType`) or while a type it reaches is set up for decoding. Types are built, never
 * resolved up front: protobufjs resolves a type's fields when the type is first used (setup), so
 * a process holds the types it decodes and those their fields name, not the whole descriptor.
 *
 * `lookupType` falls back, on a miss, to a Root parsed from the `.proto` sources, but only for a
 * name those sources define. Config from real control planes carries many type URLs no Envoy
 * proto defines (Istio's `stats.PluginConfig`, `istio.*`); a miss on those must not pay for
 * parsing the whole tree.
 */
export function rootFromDescriptor(split: SplitDescriptor, otherTypes: () => ReadonlySet<string>, parseFull: () => protobuf.Root): protobuf.Root {
  if (!internalsChecked) {
    assertProtobufjsInternals();
    internalsChecked = true;
  }
  const root = new (protobufjs().Root)();
  buildOnLookup(root, split);

  let full: protobuf.Root | undefined;
  const lookupType = root.lookupType.bind(root);
  root.lookupType = (path: string | string[]) => {
    try {
      return lookupType(path);
    } catch (err) {
      const name = (typeof path === 'string' ? path : path.join('.')).replace(/^\./, '');
      if (!otherTypes().has(name)) throw err;
      full ??= parseFull();
      return full.lookupType(name);
    }
  };
  return root;
}

/** Every message and enum full name (no leading dot) in `root`; for a lazy root, those built so far. */
export function typeNamesOf(root: protobuf.NamespaceBase): string[] {
  const names: string[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobufjs().Type || obj instanceof protobufjs().Enum) names.push(obj.fullName.slice(1));
      // At runtime Type and Service extend Namespace, so this walks nested types too.
      if (obj instanceof protobufjs().Namespace) walk(obj);
    }
  };
  walk(root);
  return names;
}
