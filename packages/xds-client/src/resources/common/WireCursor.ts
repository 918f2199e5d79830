/**
 * Protobuf wire primitives for the one-pass decoders of common resource shapes
 * (ClusterLoadAssignmentWire, ClusterWire, RouteConfigurationWire). They read only what a fast path accepts and throw
 * GIVE_UP for anything else, so the caller falls back to the general decode, which owns every
 * error message.
 */

export interface Cursor {
  readonly buf: Uint8Array;
  pos: number;
}

/**
 * A message read into the object form protobufjs's toObject gives, which a fast path hands to the
 * general path's validator so that both share one validation (MatchersWire, RouteActionWire, ...).
 */
export type ObjectForm = Record<string, unknown>;

/** Thrown (never escapes a fast path) when the input is outside it. */
const GIVE_UP = Symbol('give up');

export const LEN = 2;
export const VARINT = 0;
const utf8 = new TextDecoder('utf-8', { fatal: false });

export function giveUp(): never {
  throw GIVE_UP;
}

export function varint(r: Cursor): number {
  let result = 0;
  let shift = 0;
  // 32-bit values (uint32, enums, tags, lengths) only: a longer varint is outside the fast path.
  for (let i = 0; i < 5; i++) {
    if (r.pos >= r.buf.length) giveUp();
    const b = r.buf[r.pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result <= 0xffffffff ? result : giveUp();
    shift += 7;
  }
  return giveUp();
}

/** The end offset of a length-delimited field starting at r.pos, checked against its parent's end. */
export function lengthEnd(r: Cursor, end: number): number {
  const n = varint(r);
  const e = r.pos + n;
  if (e > end) giveUp();
  return e;
}

/**
 * string(), but `previous` itself when the field holds the same ASCII text: for a field that
 * repeats across a message's items (a type URL per resource), no new string per item.
 */
export function stringLike(r: Cursor, end: number, previous: string | undefined): string {
  if (previous === undefined) return string(r, end);
  const start = r.pos;
  const e = lengthEnd(r, end);
  const buf = r.buf;
  if (e - r.pos === previous.length) {
    let i = 0;
    // A char code below 0x80 equal to the byte: the bytes are that ASCII text.
    while (i < previous.length && previous.charCodeAt(i) < 0x80 && buf[r.pos + i] === previous.charCodeAt(i)) i++;
    if (i === previous.length) {
      r.pos = e;
      return previous;
    }
  }
  r.pos = start;
  return string(r, end);
}

export function string(r: Cursor, end: number): string {
  const e = lengthEnd(r, end);
  const buf = r.buf;
  let ascii = true;
  for (let i = r.pos; i < e; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  // ASCII (addresses, names: nearly always) is its own latin1: one native slice, no decoder.
  const s = ascii && Buffer.isBuffer(buf) ? buf.toString('latin1', r.pos, e) : utf8.decode(buf.subarray(r.pos, e));
  r.pos = e;
  return s;
}

/** google.protobuf.UInt32Value: an absent value is 0. */
export function wrappedUint(r: Cursor, end: number): number {
  const e = lengthEnd(r, end);
  let value = 0;
  while (r.pos < e) {
    const tag = varint(r);
    if (tag !== ((1 << 3) | VARINT)) giveUp();
    value = varint(r);
  }
  if (r.pos !== e) giveUp();
  return value;
}

/** google.protobuf.UInt32Value in the object form protobufjs's toObject gives: `{ value }`, `{}` when absent. */
export function wrappedUintObject(r: Cursor, end: number): { value?: number } {
  const e = lengthEnd(r, end);
  let value: number | undefined;
  while (r.pos < e) {
    if (varint(r) !== ((1 << 3) | VARINT)) giveUp();
    value = varint(r);
  }
  if (r.pos !== e) giveUp();
  return value === undefined ? {} : { value };
}

/** google.protobuf.BoolValue: an absent value is false. */
export function boolValue(r: Cursor, end: number): boolean {
  let value = false;
  while (r.pos < end) {
    if (varint(r) !== ((1 << 3) | VARINT)) giveUp();
    value = varint(r) !== 0;
  }
  if (r.pos !== end) giveUp();
  return value;
}

/**
 * google.protobuf.Duration in object form, 32-bit non-negative parts only (a negative part is a
 * 10-byte varint, so it gives up). A fast path converts it to milliseconds itself or hands it to a
 * general-path validator (ObjectReader.optDurationMs), which checks and converts it.
 */
export function durationObject(r: Cursor, end: number): { seconds?: number; nanos?: number } {
  const d: { seconds?: number; nanos?: number } = {};
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | VARINT)) d.seconds = varint(r);
    else if (tag === ((2 << 3) | VARINT)) d.nanos = varint(r);
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return d;
}

/**
 * A general-path validator run on a message the fast path read into object form (the less common
 * parts of a resource: header matchers, retry policies, outlier detection...), so both paths
 * share one validation. Whatever it throws becomes a give-up: the general path then runs the same
 * validator and rejects the resource with its message and the field path from the resource's root
 * (a ValidationError), or reports it as an internal error (anything else), as it always does.
 */
export function validated<T>(validate: () => T): T {
  try {
    return validate();
  } catch {
    return giveUp();
  }
}

/** Runs a fast-path reader over a whole resource: its value, or undefined when it gave up. */
export function readWhole<T>(bytes: Uint8Array, read: (r: Cursor, end: number) => T): T | undefined {
  try {
    return read({ buf: bytes, pos: 0 }, bytes.length);
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}
