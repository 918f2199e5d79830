import type protobuf from 'protobufjs';
import { protobufjs } from './Protobufjs.js';

/**
 * What `type.toObject(type.fromObject(objectForm), TO_OBJECT)` gives, worked out by reflection
 * instead of by the two codecs protobufjs generates per message type: every repeated field as a
 * list and every map field as an object (empty when unset), then the set fields in field-number
 * order; enums by name (a number no value has stays a number), 64-bit integers as canonical
 * decimal strings, 32-bit integers and floats coerced as protobufjs coerces them, bytes as given.
 *
 * Why: proto3 JSON config (a mesh.yaml, a resource file, a static config) went through that
 * round trip for every message type it holds; generating fromObject and toObject for them was
 * 200 to 300 KB of source and compiled functions made once at load and kept for the process, and
 * what a load keeps alive through young-generation GCs makes V8 enlarge the young generation
 * (bench/HISTORY.md, footprint sixth pass). The input is what ProtoJson's converter builds (already
 * checked field by field); protojson.test.ts checks the result equals protobufjs's round trip.
 */
export function normalizedObjectForm(type: protobuf.Type, objectForm: Record<string, unknown>): Record<string, unknown> {
  const plan = planOf(type);
  const out: Record<string, unknown> = {};
  // toObject with arrays / objects: every repeated, then every map field, in field-number order.
  for (const field of plan.lists) out[field.name] = [];
  for (const field of plan.maps) out[field.name] = {};
  for (const field of plan.fields) {
    const value = objectForm[field.name];
    if (value === null || value === undefined) continue;
    if (field.map) {
      const keys = Object.keys(value as object);
      if (keys.length === 0) continue;
      const map: Record<string, unknown> = {};
      for (const key of keys) {
        const normalized = single(field, (value as Record<string, unknown>)[key]);
        if (normalized !== UNSET) setOwn(map, key, normalized);
      }
      out[field.name] = map;
    } else if (field.repeated) {
      const list = value as unknown[];
      if (list.length > 0) out[field.name] = list.map((item) => single(field, item));
    } else {
      const normalized = single(field, value);
      if (normalized !== UNSET) out[field.name] = normalized;
    }
  }
  return out;
}

interface Plan {
  /** Every field, by field number (the order protobufjs's toObject sets them in). */
  readonly fields: readonly protobuf.Field[];
  readonly lists: readonly protobuf.Field[];
  readonly maps: readonly protobuf.Field[];
}

const plans = new WeakMap<protobuf.Type, Plan>();

function planOf(type: protobuf.Type): Plan {
  let plan = plans.get(type);
  if (plan === undefined) {
    // resolve(): the lazily built root resolves a type's fields on first use (DescriptorRoot.ts).
    const fields = type.fieldsArray.map((field) => field.resolve()).sort((a, b) => a.id - b.id);
    // A oneof member is neither (proto3 `optional` fields are one-member oneofs).
    const lists = fields.filter((field) => !field.partOf && field.repeated);
    const maps = fields.filter((field) => !field.partOf && !field.repeated && field.map);
    plan = { fields, lists, maps };
    plans.set(type, plan);
  }
  return plan;
}

/** `__proto__` as a map key is an own property, as protobufjs makes it, not the object's prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A singular enum field (or map value) given a name its enum lacks: protobufjs's fromObject leaves it unset. */
const UNSET = Symbol('unset');

function single(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobufjs().Type) return normalizedObjectForm(resolved, value as Record<string, unknown>);
  if (resolved instanceof protobufjs().Enum) return enumName(field, resolved, value);
  return scalar(field.type, value);
}

function enumName(field: protobuf.Field, e: protobuf.Enum, value: unknown): unknown {
  // fromObject takes a name or a number; toObject gives the name of the number, or the number
  // when no value has it. A name the enum lacks leaves a singular field unset and makes a list
  // item the field's default, as fromObject's generated switch does.
  let number: unknown = value;
  if (typeof value !== 'number') {
    if (typeof value !== 'string' || !Object.prototype.hasOwnProperty.call(e.values, value)) {
      if (!field.repeated) return UNSET;
      number = field.typeDefault;
    } else {
      number = e.values[value];
    }
  }
  const name = e.valuesById[number as number];
  return name === undefined ? number : name;
}

function scalar(type: string, value: unknown): unknown {
  switch (type) {
    case 'double':
    case 'float':
      return Number(value);
    case 'uint32':
    case 'fixed32':
      return (value as number) >>> 0;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return (value as number) | 0;
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return BigInt.asIntN(64, integer(value)).toString();
    case 'uint64':
    case 'fixed64':
      return BigInt.asUintN(64, integer(value)).toString();
    case 'bytes':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    case 'string':
      return String(value);
    case 'bool':
      return Boolean(value);
    default:
      return value;
  }
}

/** A 64-bit field's value as protobufjs's Long reads it: a decimal string, or a number truncated. */
function integer(value: unknown): bigint {
  return typeof value === 'number' ? BigInt(Math.trunc(value)) : BigInt(String(value));
}
