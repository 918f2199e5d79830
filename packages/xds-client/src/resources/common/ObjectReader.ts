import { ValidationError } from '../ValidationError.js';
import { structToJson } from '../../proto/ProtoJson.js';
import type { Metadata } from '../model.js';

/**
 * Typed, path-aware reads of the protobufjs plain object form (snake_case, as
 * `decodeAny` / `fromProto3Json` produce it). Every reader checks the runtime
 * type, because `fromObject` may be handed arbitrary JSON: a wrong shape is a
 * ValidationError at that field, never a TypeError.
 */
export type Obj = Readonly<Record<string, unknown>>;

export function fail(path: string, reason: string): never {
  throw new ValidationError(path, reason);
}

export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function asObj(v: unknown, path: string): Obj {
  if (!isObj(v)) fail(path, 'expected a message');
  return v;
}

export function optObj(o: Obj, key: string, path: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return asObj(v, at(path, key));
}

export function list(o: Obj, key: string, path: string): readonly unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(at(path, key), 'expected a list');
  return v;
}

export function map(o: Obj, key: string, path: string): Obj {
  const v = o[key];
  if (v === undefined || v === null) return {};
  return asObj(v, at(path, key));
}

export function optStr(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(at(path, key), 'expected a string');
  return v;
}

export function str(o: Obj, key: string, path: string): string {
  return optStr(o, key, path) ?? '';
}

export function strList(o: Obj, key: string, path: string): readonly string[] {
  return list(o, key, path).map((v, i) => {
    if (typeof v !== 'string') fail(at(at(path, key), i), 'expected a string');
    return v;
  });
}

export function optBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail(at(path, key), 'expected a boolean');
  return v;
}

/** A scalar number; int64 fields arrive as decimal strings (TO_OBJECT longs: String). */
export function toNumber(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  fail(path, 'expected a number');
}

export function optNum(o: Obj, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return toNumber(v, at(path, key));
}

export function optUint(o: Obj, key: string, path: string): number | undefined {
  const n = optNum(o, key, path);
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) fail(at(path, key), 'expected a non-negative integer');
  return n;
}

/** A google.protobuf.*Value wrapper: present with an absent `value` means the default (0 / false / ""). */
export function optWrapped(o: Obj, key: string, path: string): number | undefined {
  const w = optObj(o, key, path);
  if (!w) return undefined;
  return w['value'] === undefined || w['value'] === null ? 0 : toNumber(w['value'], at(at(path, key), 'value'));
}

export function optWrappedUint(o: Obj, key: string, path: string): number | undefined {
  const n = optWrapped(o, key, path);
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) fail(at(path, key), 'expected a non-negative integer');
  return n;
}

export function optWrappedBool(o: Obj, key: string, path: string): boolean | undefined {
  const w = optObj(o, key, path);
  if (!w) return undefined;
  const v = w['value'];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') fail(at(at(path, key), 'value'), 'expected a boolean');
  return v;
}

/** envoy.type.v3.Percent {value: double} -> number, 0..100 (PGV rule on Percent.value). */
export function optPercent(o: Obj, key: string, path: string): number | undefined {
  const w = optObj(o, key, path);
  if (!w) return undefined;
  const v = w['value'] ?? 0;
  if (typeof v !== 'number' || !(v >= 0 && v <= 100)) fail(at(at(path, key), 'value'), 'percent must be within 0..100');
  return v;
}

/** google.protobuf.Duration -> milliseconds. Negative or malformed durations are rejected (PGV gte 0 on every Duration Meshlet reads). */
export function optDurationMs(o: Obj, key: string, path: string): number | undefined {
  const d = optObj(o, key, path);
  if (!d) return undefined;
  const p = at(path, key);
  const seconds = d['seconds'] === undefined || d['seconds'] === null ? 0 : toNumber(d['seconds'], at(p, 'seconds'));
  const nanos = d['nanos'] === undefined || d['nanos'] === null ? 0 : toNumber(d['nanos'], at(p, 'nanos'));
  if (!Number.isInteger(seconds) || !Number.isInteger(nanos) || nanos < -999_999_999 || nanos > 999_999_999) fail(p, 'malformed duration');
  if (seconds < 0 || nanos < 0) fail(p, 'duration must not be negative');
  if (seconds > 315_576_000_000) fail(p, 'duration out of range');
  return seconds * 1000 + nanos / 1e6;
}

export function optEnum<T extends string>(o: Obj, key: string, path: string, allowed: readonly T[]): T | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(at(path, key), `unsupported value ${JSON.stringify(v)} (expected one of ${allowed.join(', ')})`);
  }
  return v as T;
}

/** google.protobuf.Struct -> plain JSON. */
export function optStruct(o: Obj, key: string, path: string): Readonly<Record<string, unknown>> | undefined {
  const s = optObj(o, key, path);
  return s ? structToJson(s) : undefined;
}

/** envoy.config.core.v3.Metadata -> filter_metadata as JSON (typed_filter_metadata is not modelled). */
export function optMetadata(o: Obj, key: string, path: string): Metadata | undefined {
  const m = optObj(o, key, path);
  if (!m) return undefined;
  const fm = map(m, 'filter_metadata', at(path, key));
  const out: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const [ns, s] of Object.entries(fm)) out[ns] = structToJson(s);
  return out;
}

/** Proto bytes (Buffer in object form, or base64 when the object came from elsewhere). */
export function optBytes(o: Obj, key: string, path: string): Uint8Array | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  fail(at(path, key), 'expected bytes');
}

/**
 * Drops undefined-valued keys so models compare and print cleanly. It copies the defined keys
 * into a new object rather than `delete`-ing: a delete turns a V8 object into dictionary mode
 * (about 500 bytes and its own hidden class each), which at 100,000 endpoints was a quarter
 * of the retained model heap.
 */
export function compact<T extends object>(o: T): T {
  const src = o as Record<string, unknown>;
  let hasUndefined = false;
  for (const k in src) {
    if (src[k] === undefined) {
      hasUndefined = true;
      break;
    }
  }
  if (!hasUndefined) return o;
  const out: Record<string, unknown> = {};
  for (const k in src) if (src[k] !== undefined) out[k] = src[k];
  return out as T;
}
