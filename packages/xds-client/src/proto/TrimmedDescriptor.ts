import type protobuf from 'protobufjs';
import { protobufjs } from './Protobufjs.js';

/**
 * Field options that change how a message is encoded, decoded or printed as proto3 JSON.
 * Everything else in the Envoy protos' options (validate rules, udpa/xds annotations,
 * versioning) is for code generators and costs memory on every field of a loaded Root.
 */
const KEPT_OPTIONS = new Set(['json_name', 'packed', 'proto3_optional']);

/**
 * A protobufjs JSON descriptor holding only the messages, enums and services that `rootFiles`
 * define, plus every type their fields (and service methods) reach, with the options that do
 * not affect the wire or JSON form removed.
 *
 * Why: parsing the Envoy `.proto` tree at runtime costs about 15 MB RSS (the parser, plus every
 * type of every imported file: descriptor.proto, validate rules, annotations, Envoy types no
 * field of ours reaches). The build writes this descriptor once, and a process loads it with
 * `Root.fromJSON`. Types outside it stay reachable through the `.proto` fallback in EnvoyProtos.ts.
 *
 * `parsed` must be resolved (`resolveAll`) and loaded with the same files, so that each object's
 * `filename` (or, for the google/protobuf files protobufjs bundles, its built-in definition) says
 * which file declared it.
 */
export function trimmedDescriptor(parsed: protobuf.Root, rootFiles: readonly string[]): protobuf.INamespace {
  const included = new Set<protobuf.ReflectionObject>();
  const pending: protobuf.ReflectionObject[] = [];
  const include = (obj: protobuf.ReflectionObject | null | undefined): void => {
    if (!obj || included.has(obj) || !(obj instanceof protobufjs().Type || obj instanceof protobufjs().Enum || obj instanceof protobufjs().Service)) return;
    included.add(obj);
    pending.push(obj);
  };

  for (const obj of declaredIn(parsed, rootFiles)) include(obj);
  while (pending.length > 0) {
    const obj = pending.pop()!;
    // A nested type is emitted inside its parent message, so the parent (and what it reaches) comes too.
    if (obj.parent instanceof protobufjs().Type) include(obj.parent);
    if (obj instanceof protobufjs().Type) {
      for (const field of obj.fieldsArray) include(field.resolvedType);
      for (const nested of obj.nestedArray) include(nested);
    } else if (obj instanceof protobufjs().Service) {
      for (const method of obj.methodsArray) {
        include(method.resolvedRequestType);
        include(method.resolvedResponseType);
      }
    }
  }

  const out: protobuf.INamespace = { nested: {} };
  for (const obj of included) {
    if (obj.parent instanceof protobufjs().Type) continue; // written with its parent
    let ns = out;
    for (const name of namespacePath(obj)) {
      ns.nested ??= {};
      ns = (ns.nested[name] ??= { nested: {} }) as protobuf.INamespace;
    }
    ns.nested ??= {};
    ns.nested[obj.name] = stripOptions(obj.toJSON() as Json) as protobuf.AnyNestedObject;
  }
  return out;
}

/** The messages, enums and services declared in `files` (top level and nested). */
function declaredIn(root: protobuf.Root, files: readonly string[]): protobuf.ReflectionObject[] {
  const suffixes = files.map((f) => `/${f}`);
  const found: protobuf.ReflectionObject[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const obj of ns.nestedArray) {
      if (obj.filename && suffixes.some((s) => obj.filename!.endsWith(s))) found.push(obj);
      // At runtime Type and Service extend Namespace, so this walks nested types too.
      if (obj instanceof protobufjs().Namespace) walk(obj);
    }
  };
  walk(root);
  // protobufjs serves google/protobuf/*.proto from built-in JSON, whose objects carry no filename.
  for (const file of files) {
    const builtin = protobufjs().common.get(file);
    if (builtin) collectNames(builtin, '', (name) => found.push(root.lookup(name)!));
  }
  return found;
}

function collectNames(ns: protobuf.INamespace, prefix: string, onType: (fullName: string) => void): void {
  for (const [name, nested] of Object.entries(ns.nested ?? {})) {
    const fullName = prefix ? `${prefix}.${name}` : name;
    if ('fields' in nested || 'values' in nested || 'methods' in nested) onType(fullName);
    else collectNames(nested as protobuf.INamespace, fullName, onType);
  }
}

/** The enclosing package names of a top-level type: `envoy.config.core.v3.Address` -> envoy, config, core, v3. */
function namespacePath(obj: protobuf.ReflectionObject): string[] {
  const path: string[] = [];
  for (let ns = obj.parent; ns && ns.parent; ns = ns.parent) path.unshift(ns.name);
  return path;
}

type Json = Record<string, unknown>;

/**
 * A type's, enum's or service's JSON without comments and without the options KEPT_OPTIONS does
 * not name. Walked by structure, not by key, since a field may well be called `options`.
 */
function stripOptions(json: Json): Json {
  const out: Json = { ...json };
  delete out.options;
  delete out.comment;
  delete out.comments;
  delete out.valuesOptions;
  if (json.fields) out.fields = mapValues(json.fields as Record<string, Json>, keepWireOptions);
  if (json.oneofs) out.oneofs = mapValues(json.oneofs as Record<string, Json>, keepWireOptions);
  if (json.methods) out.methods = mapValues(json.methods as Record<string, Json>, keepWireOptions);
  if (json.nested) out.nested = mapValues(json.nested as Record<string, Json>, stripOptions);
  return out;
}

function keepWireOptions(member: Json): Json {
  const { options, comment: _comment, parsedOptions: _parsed, ...rest } = member;
  const kept = Object.entries((options ?? {}) as Json).filter(([k]) => KEPT_OPTIONS.has(k));
  return kept.length > 0 ? { ...rest, options: Object.fromEntries(kept) } : rest;
}

function mapValues(record: Record<string, Json>, fn: (value: Json) => Json): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(record)) out[key] = fn(value);
  return out;
}
