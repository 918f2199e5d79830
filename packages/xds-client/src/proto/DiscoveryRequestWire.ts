import type protobuf from 'protobufjs';
import { envoyRoot } from './EnvoyProtos.js';

/**
 * One-pass encode of the requests an xDS client sends (DiscoveryRequest, DeltaDiscoveryRequest),
 * straight from the plain object to the bytes protobufjs would write (fields in number order, a
 * string field present when set, even to ''). A config-scale subscription names 10,000 resources:
 * the general path copies the request with `fromObject`, then writes each name a character at a
 * time, on the way to the server that has to answer it.
 *
 * Only the common shape is taken: ASCII strings, the string and string-list fields, the
 * initial_resource_versions map, and a Node (encoded by protobufjs: once per stream). Anything
 * else (an error_detail, resource locators, a non-string value, a non-ASCII string, an unknown
 * field) returns undefined, and the caller encodes with protobufjs (test:
 * discovery-request-wire-encode.test.ts).
 */
export function encodeDiscoveryRequestWire(request: Readonly<Record<string, unknown>>): Buffer | undefined {
  return encodeWire(request, SOTW);
}

export function encodeDeltaDiscoveryRequestWire(request: Readonly<Record<string, unknown>>): Buffer | undefined {
  return encodeWire(request, DELTA);
}

type Kind = 'string' | 'strings' | 'map' | 'node';
/** One field of a request: number, kind and name, in field-number order (as protobufjs writes them). */
type Field = readonly [id: number, kind: Kind, name: string];

const SOTW: readonly Field[] = [
  [1, 'string', 'version_info'],
  [2, 'node', 'node'],
  [3, 'strings', 'resource_names'],
  [4, 'string', 'type_url'],
  [5, 'string', 'response_nonce'],
];

const DELTA: readonly Field[] = [
  [1, 'node', 'node'],
  [2, 'string', 'type_url'],
  [3, 'strings', 'resource_names_subscribe'],
  [4, 'strings', 'resource_names_unsubscribe'],
  [5, 'map', 'initial_resource_versions'],
  [6, 'string', 'response_nonce'],
];

const LEN = 2;
let nodeType: protobuf.Type | undefined;

function encodeWire(request: Readonly<Record<string, unknown>>, fields: readonly Field[]): Buffer | undefined {
  for (const key in request) if (request[key] != null && !fields.some((f) => f[2] === key)) return undefined;
  // The Node is the one nested message: protobufjs encodes it (fromObject accepts its JSON forms).
  let node: Uint8Array | undefined;
  if (request['node'] != null) {
    if (typeof request['node'] !== 'object') return undefined;
    const type = (nodeType ??= envoyRoot().lookupType('envoy.config.core.v3.Node'));
    node = type.encode(type.fromObject(request['node'] as Record<string, unknown>)).finish();
  }
  // Sized first, so the bytes are written once into a buffer of the right length.
  let size = 0;
  for (const [, kind, name] of fields) {
    const value = request[name];
    if (value == null) continue;
    const n = kind === 'node' ? lenField(node!.length) : kind === 'string' ? stringField(value) : kind === 'strings' ? stringList(value) : stringMap(value);
    if (n < 0) return undefined;
    size += n;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [id, kind, name] of fields) {
    const value = request[name];
    if (value == null) continue;
    const tag = (id << 3) | LEN;
    if (kind === 'node') {
      buf[pos++] = tag;
      pos = writeVarint(buf, pos, node!.length);
      buf.set(node!, pos);
      pos += node!.length;
    } else if (kind === 'string') pos = writeString(buf, pos, tag, value as string);
    else if (kind === 'strings') for (const s of value as string[]) pos = writeString(buf, pos, tag, s);
    else {
      // A map<string, string> entry is a message { key = 1; value = 2; }, both always written.
      const map = value as Record<string, string>;
      for (const k of Object.keys(map)) {
        buf[pos++] = tag;
        pos = writeVarint(buf, pos, stringField(k) + stringField(map[k]));
        pos = writeString(buf, pos, (1 << 3) | LEN, k);
        pos = writeString(buf, pos, (2 << 3) | LEN, map[k]!);
      }
    }
  }
  return buf;
}

/** Bytes of a length-delimited field of `n` bytes (tags here are all one byte). */
function lenField(n: number): number {
  return 1 + varintSize(n) + n;
}

/** Bytes of a string field, or -1 when `value` is not an ASCII string. */
function stringField(value: unknown): number {
  if (typeof value !== 'string') return -1;
  // Any other character takes two or more UTF-8 bytes (a lone surrogate three), so only ASCII
  // text has as many bytes as characters. Native, as is the write: no per-character loop in JS.
  if (Buffer.byteLength(value, 'utf8') !== value.length) return -1;
  return lenField(value.length);
}

function stringList(value: unknown): number {
  if (!Array.isArray(value)) return -1;
  let size = 0;
  for (let i = 0; i < value.length; i++) {
    const n = stringField(value[i]);
    if (n < 0) return -1;
    size += n;
  }
  return size;
}

function stringMap(value: unknown): number {
  if (typeof value !== 'object' || Array.isArray(value)) return -1;
  const map = value as Record<string, unknown>;
  let size = 0;
  for (const k of Object.keys(map)) {
    const key = stringField(k);
    const v = stringField(map[k]);
    if (key < 0 || v < 0) return -1;
    size += lenField(key + v);
  }
  return size;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** A string field whose value is known to be ASCII: its characters are its bytes (UTF-8 and latin1 alike). */
function writeString(buf: Buffer, pos: number, tag: number, s: string): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, s.length);
  return pos + buf.write(s, pos);
}
