import type protobuf from 'protobufjs';
import { protobufjs } from './Protobufjs.js';
import { conversionRoot, envoyRoot, lookupMessage, TO_OBJECT, typeNameOf } from './EnvoyProtos.js';
import { normalizedObjectForm } from './NormalizedObjectForm.js';
import { STRUCT_VALUE_FIELDS as V } from './StructValueFields.js';
import { ValidationError } from '../resources/ValidationError.js';

/**
 * proto3 JSON (https://protobuf.dev/programming-guides/json/) -> protobufjs
 * object form, driven by reflection on `conversionRoot()` (a Root of the same types that goes
 * with the conversions that use it, EnvoyProtos.ts).
 *
 * Why not `Type.fromObject` alone: it neither knows the JSON forms of the
 * well-known types (Duration "1.5s", wrappers as bare scalars, Struct as plain
 * JSON, Any with "@type"), nor accepts lowerCamelCase names under keepCase, and
 * it silently coerces bad scalars. This walker checks each value against the
 * field's type and reports the JSON path of the first bad one.
 *
 * Leniencies, each chosen to match what Envoy's own JSON/YAML loader accepts:
 * - A single value where a repeated field is expected is taken as a list of
 *   one. Envoy's example `dynamic-config-fs/configs/lds.yaml` writes
 *   `filter_chains[].filters` as one object and Envoy loads it.
 * - `null` for any non-Value field means "absent" (proto3 JSON rule).
 * - An Any whose "@type" has no proto in Meshlet (Istio-private types such as
 *   `stats.PluginConfig`) is not an error: its JSON body (minus "@type") is kept
 *   losslessly as a google.protobuf.Struct encoded in the Any's `value`, under
 *   the original type URL. Consumers see an OpaqueExtension; `opaqueJson()`
 *   recovers the JSON.
 * Unknown field names are an error unless `ignoreUnknownFields` is set
 * (Envoy rejects them in static config too; a typo should not be silent).
 */
export interface ProtoJsonOptions {
  readonly ignoreUnknownFields?: boolean;
}

const STRUCT = 'google.protobuf.Struct';

interface FieldIndex {
  readonly byJsonName: Map<string, protobuf.Field>;
}

const fieldIndexes = new WeakMap<protobuf.Type, FieldIndex>();

/** The lowerCamelCase JSON name protoc derives from a snake_case field name. */
export function jsonNameOf(fieldName: string): string {
  return fieldName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function indexOf(type: protobuf.Type): FieldIndex {
  let idx = fieldIndexes.get(type);
  if (!idx) {
    const byJsonName = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      byJsonName.set(f.name, f);
      const explicit = f.options?.['json_name'];
      byJsonName.set(typeof explicit === 'string' ? explicit : jsonNameOf(f.name), f);
    }
    idx = { byJsonName };
    fieldIndexes.set(type, idx);
  }
  return idx;
}

function fail(path: string, reason: string): never {
  throw new ValidationError(path, reason);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function typeName(t: protobuf.Type): string {
  return t.fullName.replace(/^\./, '');
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;

class Converter {
  /** The Root of the conversion's types (its first lookup's), held while the conversion runs. */
  private readonly root = conversionRoot();

  constructor(private readonly options: ProtoJsonOptions) {}

  /** A message type of this conversion's Root, or undefined when Meshlet has no proto for it. */
  lookup(nameOrTypeUrl: string): protobuf.Type | undefined {
    return lookupMessage(nameOrTypeUrl, this.root);
  }

  /** JSON for a message of `type` -> the object form `type.fromObject` accepts. */
  message(type: protobuf.Type, json: unknown, path: string): Record<string, unknown> {
    const special = this.wellKnown(type, json, path);
    if (special !== undefined) return special;
    if (!isPlainObject(json)) fail(path, `expected an object for ${typeName(type)}`);
    const idx = indexOf(type);
    const out: Record<string, unknown> = {};
    const oneofSeen = new Map<string, string>();
    for (const key of Object.keys(json)) {
      const value = json[key];
      const field = idx.byJsonName.get(key);
      if (!field) {
        if (this.options.ignoreUnknownFields) continue;
        fail(join(path, key), `unknown field in ${typeName(type)}`);
      }
      const fpath = join(path, field.name);
      if (field.name in out) fail(fpath, 'field given twice (snake_case and lowerCamelCase)');
      if (value === null && field.resolve().resolvedType?.fullName !== '.google.protobuf.Value') continue;
      if (field.partOf && field.partOf.oneof.length > 1) {
        const prev = oneofSeen.get(field.partOf.name);
        if (prev !== undefined) fail(fpath, `oneof ${field.partOf.name} already set by ${prev}`);
        oneofSeen.set(field.partOf.name, field.name);
      }
      out[field.name] = this.field(field, value, fpath);
    }
    return out;
  }

  private field(field: protobuf.Field, value: unknown, path: string): unknown {
    if (field.map) {
      if (!isPlainObject(value)) fail(path, 'expected an object for a map field');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        this.mapKey((field as unknown as protobuf.MapField).keyType, k, `${path}["${k}"]`);
        out[k] = this.single(field, v, `${path}["${k}"]`);
      }
      return out;
    }
    if (field.repeated) {
      // Envoy-compatible leniency: one object where a list is expected is a list of one (see header).
      const list = Array.isArray(value) ? value : [value];
      return list.map((v, i) => this.single(field, v, `${path}[${i}]`));
    }
    if (Array.isArray(value)) fail(path, 'expected a single value, got a list');
    return this.single(field, value, path);
  }

  private mapKey(keyType: string, key: string, path: string): void {
    if (keyType === 'string') return;
    if (keyType === 'bool') {
      if (key !== 'true' && key !== 'false') fail(path, 'map key must be true or false');
      return;
    }
    if (!/^-?\d+$/.test(key)) fail(path, `map key must be an integer (${keyType})`);
  }

  private single(field: protobuf.Field, value: unknown, path: string): unknown {
    // resolve(): the built Root resolves a type's fields on first use, not up front (DescriptorRoot.ts).
    const rt = field.resolve().resolvedType;
    if (rt instanceof protobufjs().Type) return this.message(rt, value, path);
    if (rt instanceof protobufjs().Enum) return this.enumValue(rt, value, path);
    return this.scalar(field.type, value, path);
  }

  private enumValue(e: protobuf.Enum, value: unknown, path: string): string | number {
    if (e.fullName === '.google.protobuf.NullValue') return 'NULL_VALUE';
    if (typeof value === 'string') {
      if (!(value in e.values)) fail(path, `unknown ${e.name} enum value "${value}"`);
      return value;
    }
    if (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return value;
    fail(path, `expected a ${e.name} enum name or number`);
  }

  scalar(type: string, value: unknown, path: string): unknown {
    switch (type) {
      case 'string':
        if (typeof value !== 'string') fail(path, 'expected a string');
        return value;
      case 'bool':
        if (typeof value !== 'boolean') fail(path, 'expected true or false');
        return value;
      case 'bytes':
        if (typeof value !== 'string') fail(path, 'expected a base64 string');
        // Both standard and URL-safe base64 are valid proto3 JSON.
        if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) fail(path, 'invalid base64');
        return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
      case 'double':
      case 'float': {
        if (typeof value === 'number') return value;
        if (value === 'NaN') return NaN;
        if (value === 'Infinity') return Infinity;
        if (value === '-Infinity') return -Infinity;
        if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
        fail(path, `expected a number (${type})`);
      }
      case 'int32':
      case 'sint32':
      case 'sfixed32':
        return this.integer(value, path, INT32_MIN, INT32_MAX, type);
      case 'uint32':
      case 'fixed32':
        return this.integer(value, path, 0, UINT32_MAX, type);
      case 'int64':
      case 'sint64':
      case 'sfixed64':
      case 'uint64':
      case 'fixed64':
        return this.int64(value, path, type);
      default:
        fail(path, `unsupported scalar type ${type}`);
    }
  }

  private integer(value: unknown, path: string, min: number, max: number, type: string): number {
    const n = typeof value === 'string' && /^-?\d+(\.0*)?$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(path, `expected an integer in range (${type})`);
    return n;
  }

  private int64(value: unknown, path: string, type: string): string {
    let s: string;
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) fail(path, `expected an integer (${type})`);
      s = String(value);
    } else if (typeof value === 'string' && /^-?\d+$/.test(value)) {
      s = value;
    } else {
      fail(path, `expected an integer or a decimal string (${type})`);
    }
    const big = BigInt(s);
    const unsigned = type === 'uint64' || type === 'fixed64';
    const lo = unsigned ? 0n : -(2n ** 63n);
    const hi = unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n;
    if (big < lo || big > hi) fail(path, `out of range (${type})`);
    return s;
  }

  /** The special JSON forms of the well-known types; undefined for ordinary messages. */
  private wellKnown(type: protobuf.Type, json: unknown, path: string): Record<string, unknown> | undefined {
    switch (type.fullName) {
      case '.google.protobuf.Any':
        return this.any(json, path);
      case '.google.protobuf.Duration':
        return parseDuration(json, path);
      case '.google.protobuf.Timestamp':
        return parseTimestamp(json, path);
      case '.google.protobuf.Struct':
        if (!isPlainObject(json)) fail(path, 'expected an object (google.protobuf.Struct)');
        return structFromJson(json, path);
      case '.google.protobuf.Value':
        return valueFromJson(json, path);
      case '.google.protobuf.ListValue':
        if (!Array.isArray(json)) fail(path, 'expected a list (google.protobuf.ListValue)');
        return { values: json.map((v, i) => valueFromJson(v, `${path}[${i}]`)) };
      case '.google.protobuf.FieldMask':
        if (typeof json !== 'string') fail(path, 'expected a string (google.protobuf.FieldMask)');
        return { paths: json === '' ? [] : json.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
      case '.google.protobuf.Empty':
        if (!isPlainObject(json)) fail(path, 'expected {} (google.protobuf.Empty)');
        return {};
      case '.google.protobuf.DoubleValue':
      case '.google.protobuf.FloatValue':
      case '.google.protobuf.Int64Value':
      case '.google.protobuf.UInt64Value':
      case '.google.protobuf.Int32Value':
      case '.google.protobuf.UInt32Value':
      case '.google.protobuf.BoolValue':
      case '.google.protobuf.StringValue':
      case '.google.protobuf.BytesValue': {
        // Wrappers are their bare scalar in JSON; {"value": x} is accepted too, as Envoy's loader does.
        const field = type.fields['value']!;
        const raw = isPlainObject(json) && 'value' in json && Object.keys(json).length === 1 ? json['value'] : json;
        return { value: this.scalar(field.type, raw, path) };
      }
      default:
        return undefined;
    }
  }

  private any(json: unknown, path: string): Record<string, unknown> {
    if (!isPlainObject(json)) fail(path, 'expected an object with "@type" (google.protobuf.Any)');
    const typeUrl = json['@type'];
    if (typeUrl === undefined && Object.keys(json).length === 0) return {};
    if (typeof typeUrl !== 'string' || typeUrl === '') fail(join(path, '@type'), 'google.protobuf.Any needs a "@type" string');
    const inner = this.lookup(typeUrl);
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(json)) if (k !== '@type') body[k] = v;
    if (!inner) {
      // Unknown to Meshlet (e.g. Istio-private types): keep the JSON body losslessly as a Struct.
      return { type_url: typeUrl, value: encodeObject(this.root, STRUCT, structFromJson(body, path)) };
    }
    // Well-known types with a special JSON form carry it under "value" inside an Any.
    const special = WELL_KNOWN_SPECIAL_JSON.has(inner.fullName);
    const objectForm = this.message(inner, special ? body['value'] : body, path);
    return { type_url: typeUrl, value: encodeObject(this.root, typeName(inner), objectForm) };
  }
}

const WELL_KNOWN_SPECIAL_JSON = new Set([
  '.google.protobuf.Duration',
  '.google.protobuf.Timestamp',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
  '.google.protobuf.FieldMask',
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
]);

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
/** Duration bounds from duration.proto: +-315,576,000,000 s. */
const MAX_DURATION_SECONDS = 315576000000n;

function parseDuration(json: unknown, path: string): Record<string, unknown> {
  if (isPlainObject(json)) {
    // Envoy YAML sometimes spells Durations as {seconds, nanos}; accept the object form too.
    const seconds = json['seconds'] ?? 0;
    const nanos = json['nanos'] ?? 0;
    if ((typeof seconds !== 'number' && typeof seconds !== 'string') || !/^-?\d+$/.test(String(seconds))) fail(join(path, 'seconds'), 'expected an integer');
    if (typeof nanos !== 'number' || !Number.isInteger(nanos) || Math.abs(nanos) > 999999999) fail(join(path, 'nanos'), 'expected an integer in -999999999..999999999');
    return { seconds: String(seconds), nanos };
  }
  if (typeof json !== 'string') fail(path, 'expected a duration string like "1.5s"');
  const m = DURATION_RE.exec(json);
  if (!m) fail(path, `invalid duration "${json}" (expected e.g. "0.200s")`);
  const secs = BigInt(m[2]!);
  if (secs > MAX_DURATION_SECONDS) fail(path, 'duration out of range');
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  const neg = m[1] === '-';
  return { seconds: (neg ? -secs : secs).toString(), nanos: neg ? -nanos : nanos };
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function parseTimestamp(json: unknown, path: string): Record<string, unknown> {
  if (typeof json !== 'string') fail(path, 'expected an RFC 3339 timestamp string');
  const m = TIMESTAMP_RE.exec(json);
  if (!m) fail(path, `invalid timestamp "${json}"`);
  const base = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8] === 'Z' ? 'Z' : m[8]}`);
  if (Number.isNaN(base)) fail(path, `invalid timestamp "${json}"`);
  const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0;
  return { seconds: String(Math.floor(base / 1000)), nanos };
}

function structFromJson(json: Record<string, unknown>, path: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) fields[k] = valueFromJson(v, join(path, k));
  return { fields };
}

function valueFromJson(json: unknown, path: string): Record<string, unknown> {
  if (json === null) return { [V.null]: 'NULL_VALUE' };
  switch (typeof json) {
    case 'number':
      return { [V.number]: json };
    case 'string':
      return { [V.string]: json };
    case 'boolean':
      return { [V.bool]: json };
    case 'object':
      if (Array.isArray(json)) return { [V.list]: { values: json.map((v, i) => valueFromJson(v, `${path}[${i}]`)) } };
      if (json instanceof Uint8Array) fail(path, 'binary data is not JSON');
      return { [V.struct]: structFromJson(json as Record<string, unknown>, path) };
    default:
      fail(path, `not a JSON value (${typeof json})`);
  }
}

function encodeObject(root: protobuf.Root, name: string, objectForm: Record<string, unknown>): Uint8Array {
  const type = root.lookupType(name);
  return type.encode(type.fromObject(objectForm)).finish();
}

function lookupOrFail(converter: Converter, name: string): protobuf.Type {
  const type = converter.lookup(name);
  if (!type) throw new ValidationError('', `unknown message type ${typeNameOf(name)}`);
  return type;
}

/**
 * proto3 JSON (snake_case or lowerCamelCase) for message `typeName` -> the plain
 * snake_case object form that `decodeAny` produces (Any as {type_url, value},
 * Durations as {seconds, nanos}, int64 as strings, bytes as Buffers).
 * Throws ValidationError with the JSON field path.
 */
export function fromProto3Json(name: string, json: unknown, options: ProtoJsonOptions = {}): Record<string, unknown> {
  const converter = new Converter(options);
  const type = lookupOrFail(converter, name);
  const objectForm = converter.message(type, json, '');
  try {
    // What protobufjs's toObject(fromObject(objectForm), TO_OBJECT) gives, without generating both codecs per type.
    return normalizedObjectForm(type, objectForm);
  } catch (err) {
    throw new ValidationError('', `cannot build ${typeName(type)}: ${(err as Error).message}`);
  }
}

/**
 * proto3 JSON -> the object form protobufjs's `fromObject` takes, before fromProto3Json
 * normalizes it; the tests compare that normalization with protobufjs's round trip.
 */
export function objectFormOfProto3Json(name: string, json: unknown, options: ProtoJsonOptions = {}): Record<string, unknown> {
  const converter = new Converter(options);
  return converter.message(lookupOrFail(converter, name), json, '');
}

/** proto3 JSON -> encoded bytes of message `typeName`. */
export function encodeProto3Json(name: string, json: unknown, options: ProtoJsonOptions = {}): Uint8Array {
  const converter = new Converter(options);
  const type = lookupOrFail(converter, name);
  const objectForm = converter.message(type, json, '');
  return type.encode(type.fromObject(objectForm)).finish();
}

/**
 * proto3 JSON for an Any (an object with "@type") -> {type_url, value} with the
 * value encoded; the form xDS responses carry. Unknown types are kept as Struct (see header).
 */
export function anyFromProto3Json(json: unknown, options: ProtoJsonOptions = {}): { type_url: string; value: Uint8Array } {
  const converter = new Converter(options);
  const any = lookupOrFail(converter, 'google.protobuf.Any');
  const form = converter.message(any, json, '') as { type_url?: string; value?: Uint8Array };
  if (!form.type_url) throw new ValidationError('@type', 'missing "@type"');
  return { type_url: form.type_url, value: form.value ?? new Uint8Array() };
}

/** google.protobuf.Struct object form ({fields: {...}}) -> plain JSON. */
export function structToJson(struct: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = isPlainObject(struct) ? struct['fields'] : undefined;
  if (isPlainObject(fields)) for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(v);
  return out;
}

/** google.protobuf.Value object form (snake_case or camelCase keys) -> plain JSON. */
export function valueToJson(value: unknown): unknown {
  if (!isPlainObject(value)) return null;
  const get = (snake: string): unknown => value[snake] ?? value[jsonNameOf(snake)];
  if (get('string_value') !== undefined) return get('string_value');
  if (get('number_value') !== undefined) return get('number_value');
  if (get('bool_value') !== undefined) return get('bool_value');
  if (get('struct_value') !== undefined) return structToJson(get('struct_value'));
  if (get('list_value') !== undefined) {
    const lv = get('list_value');
    const values = isPlainObject(lv) && Array.isArray(lv['values']) ? lv['values'] : [];
    return values.map(valueToJson);
  }
  return null;
}

/**
 * The JSON body of an Any whose type Meshlet has no proto for, as kept by
 * `fromProto3Json` (a Struct in the value). undefined when the bytes are not a Struct.
 */
export function opaqueJson(value: Uint8Array): Record<string, unknown> | undefined {
  try {
    const type = envoyRoot().lookupType(STRUCT);
    return structToJson(type.toObject(type.decode(value), TO_OBJECT));
  } catch {
    return undefined;
  }
}
