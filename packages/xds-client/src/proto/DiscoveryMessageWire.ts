import type protobuf from 'protobufjs';
import { envoyRoot } from './EnvoyProtos.js';
import { STRUCT_VALUE_FIELDS } from './StructValueFields.js';

/**
 * One-pass encode of the discovery messages sent in bulk, straight from the plain object to the
 * bytes protobufjs would write (fields in number order, a string field present when set, even to
 * ''): the requests an xDS client sends (DiscoveryRequest, DeltaDiscoveryRequest: a config-scale
 * subscription names 10,000 resources) and the responses the control plane's AdsServer sends
 * (DiscoveryResponse, DeltaDiscoveryResponse: 10,000 resources of 10 MB). The general path copies
 * the message with `fromObject`, then writes it a field and a character at a time, forking a
 * writer per nested message.
 *
 * Only the common shape is taken: ASCII strings; the string, string-list and
 * initial_resource_versions fields; resources as Anys (or delta Resources of name, version, Any
 * and aliases) whose values are bytes; a Node of the fields NodeMessage.ts sets. Anything
 * else (an error_detail, resource locators, a ttl, a control_plane, an Any in its JSON form, a
 * non-string value, a non-ASCII string, an unknown field) returns undefined, and the caller
 * encodes with protobufjs (test: discovery-message-wire-encode.test.ts).
 */
export function encodeDiscoveryRequestWire(message: Readonly<Record<string, unknown>>): Buffer | undefined {
  return encodeWire(message, SOTW_REQUEST);
}

export function encodeDeltaDiscoveryRequestWire(message: Readonly<Record<string, unknown>>): Buffer | undefined {
  return encodeWire(message, DELTA_REQUEST);
}

export function encodeDiscoveryResponseWire(message: Readonly<Record<string, unknown>>): Buffer | undefined {
  return encodeWire(message, SOTW_RESPONSE);
}

export function encodeDeltaDiscoveryResponseWire(message: Readonly<Record<string, unknown>>): Buffer | undefined {
  return encodeWire(message, DELTA_RESPONSE);
}

type Kind = 'string' | 'strings' | 'map' | 'node' | 'anys' | 'resources';
/** One field of a message: number, kind and name, in field-number order (as protobufjs writes them). */
type Field = readonly [id: number, kind: Kind, name: string];

const SOTW_REQUEST: readonly Field[] = [
  [1, 'string', 'version_info'],
  [2, 'node', 'node'],
  [3, 'strings', 'resource_names'],
  [4, 'string', 'type_url'],
  [5, 'string', 'response_nonce'],
];

const DELTA_REQUEST: readonly Field[] = [
  [1, 'node', 'node'],
  [2, 'string', 'type_url'],
  [3, 'strings', 'resource_names_subscribe'],
  [4, 'strings', 'resource_names_unsubscribe'],
  [5, 'map', 'initial_resource_versions'],
  [6, 'string', 'response_nonce'],
];

const SOTW_RESPONSE: readonly Field[] = [
  [1, 'string', 'version_info'],
  [2, 'anys', 'resources'],
  [4, 'string', 'type_url'],
  [5, 'string', 'nonce'],
];

const DELTA_RESPONSE: readonly Field[] = [
  [1, 'string', 'system_version_info'],
  [2, 'resources', 'resources'],
  [4, 'string', 'type_url'],
  [5, 'string', 'nonce'],
  [6, 'strings', 'removed_resources'],
];

const LEN = 2;
const ANY_FIELDS: readonly string[] = ['type_url', 'value'];
const RESOURCE_FIELDS: readonly string[] = ['version', 'resource', 'name', 'aliases'];
let nodeType: protobuf.Type | undefined;

function encodeWire(message: Readonly<Record<string, unknown>>, fields: readonly Field[]): Buffer | undefined {
  for (const key in message) if (message[key] != null && !fields.some((f) => f[2] === key)) return undefined;
  let node: Uint8Array | undefined;
  if (message['node'] != null) {
    if (typeof message['node'] !== 'object') return undefined;
    // A Node of another shape is protobufjs's to encode (fromObject accepts its JSON forms).
    node = encodeNodeWire(message['node']);
    if (node === undefined) {
      const type = (nodeType ??= envoyRoot().lookupType('envoy.config.core.v3.Node'));
      node = type.encode(type.fromObject(message['node'] as Record<string, unknown>)).finish();
    }
  }
  // Sized first, so the bytes are written once into a buffer of the right length.
  let size = 0;
  for (const [, kind, name] of fields) {
    const value = message[name];
    if (value == null) continue;
    const n =
      kind === 'node'
        ? lenField(node!.length)
        : kind === 'string'
          ? stringField(value)
          : kind === 'strings'
            ? stringList(value)
            : kind === 'map'
              ? stringMap(value)
              : messageList(value, kind === 'anys' ? anySize : resourceSize);
    if (n < 0) return undefined;
    size += n;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [id, kind, name] of fields) {
    const value = message[name];
    if (value == null) continue;
    const tag = (id << 3) | LEN;
    if (kind === 'node') pos = writeBytes(buf, pos, tag, node!);
    else if (kind === 'string') pos = writeString(buf, pos, tag, value as string);
    else if (kind === 'strings') for (const s of value as string[]) pos = writeString(buf, pos, tag, s);
    else if (kind === 'map') {
      // A map<string, string> entry is a message { key = 1; value = 2; }, both always written.
      const map = value as Record<string, string>;
      for (const k of Object.keys(map)) {
        buf[pos++] = tag;
        pos = writeVarint(buf, pos, stringField(k) + stringField(map[k]));
        pos = writeString(buf, pos, (1 << 3) | LEN, k);
        pos = writeString(buf, pos, (2 << 3) | LEN, map[k]!);
      }
    } else if (kind === 'anys') for (const any of value as AnyObject[]) pos = writeAny(buf, pos, tag, any);
    else for (const r of value as ResourceObject[]) pos = writeResource(buf, pos, tag, r);
  }
  return buf;
}

interface AnyObject {
  type_url?: string;
  value?: Uint8Array;
}

interface ResourceObject {
  version?: string;
  resource?: AnyObject;
  name?: string;
  aliases?: string[];
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

/** Bytes of a repeated message field, each item sized by `contentSize` (-1: outside the fast path). */
function messageList(value: unknown, contentSize: (item: unknown) => number): number {
  if (!Array.isArray(value)) return -1;
  let size = 0;
  for (let i = 0; i < value.length; i++) {
    const n = contentSize(value[i]);
    if (n < 0) return -1;
    size += lenField(n);
  }
  return size;
}

/** Whether `o` is a plain object with no set field outside `known`. */
function onlyFields(o: unknown, known: readonly string[]): o is Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  for (const key in o) if ((o as Record<string, unknown>)[key] != null && !known.includes(key)) return false;
  return true;
}

/** google.protobuf.Any's encoded size (without its own tag and length), or -1. */
function anySize(any: unknown): number {
  // An Any in its JSON form ('@type') or with a base64 string value is protobufjs's to convert.
  if (!onlyFields(any, ANY_FIELDS)) return -1;
  let size = 0;
  if (any['type_url'] != null) {
    const n = stringField(any['type_url']);
    if (n < 0) return -1;
    size += n;
  }
  if (any['value'] != null) {
    if (!(any['value'] instanceof Uint8Array)) return -1;
    size += lenField(any['value'].length);
  }
  return size;
}

/** envoy.service.discovery.v3.Resource's encoded size (without its own tag and length), or -1. */
function resourceSize(resource: unknown): number {
  if (!onlyFields(resource, RESOURCE_FIELDS)) return -1;
  const version = resource['version'] != null ? stringField(resource['version']) : 0;
  const any = resource['resource'] != null ? anySize(resource['resource']) : 0;
  const name = resource['name'] != null ? stringField(resource['name']) : 0;
  const aliases = resource['aliases'] != null ? stringList(resource['aliases']) : 0;
  if (version < 0 || any < 0 || name < 0 || aliases < 0) return -1;
  return version + (resource['resource'] != null ? lenField(any) : 0) + name + aliases;
}

/** anySize of an Any the size pass accepted: its strings are ASCII, so arithmetic alone. */
function anyLength(any: AnyObject): number {
  return (any.type_url != null ? lenField(any.type_url.length) : 0) + (any.value != null ? lenField(any.value.length) : 0);
}

/** resourceSize of a Resource the size pass accepted. */
function resourceLength(r: ResourceObject): number {
  let n = (r.version != null ? lenField(r.version.length) : 0) + (r.resource != null ? lenField(anyLength(r.resource)) : 0);
  n += r.name != null ? lenField(r.name.length) : 0;
  if (r.aliases != null) for (const a of r.aliases) n += lenField(a.length);
  return n;
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

function writeBytes(buf: Buffer, pos: number, tag: number, bytes: Uint8Array): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

function writeAny(buf: Buffer, pos: number, tag: number, any: AnyObject): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, anyLength(any));
  if (any.type_url != null) pos = writeString(buf, pos, (1 << 3) | LEN, any.type_url);
  if (any.value != null) pos = writeBytes(buf, pos, (2 << 3) | LEN, any.value);
  return pos;
}

function writeResource(buf: Buffer, pos: number, tag: number, r: ResourceObject): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, resourceLength(r));
  if (r.version != null) pos = writeString(buf, pos, (1 << 3) | LEN, r.version);
  if (r.resource != null) pos = writeAny(buf, pos, (2 << 3) | LEN, r.resource);
  if (r.name != null) pos = writeString(buf, pos, (3 << 3) | LEN, r.name);
  if (r.aliases != null) for (const a of r.aliases) pos = writeString(buf, pos, (4 << 3) | LEN, a);
  return pos;
}

const NODE_FIELDS: readonly string[] = ['id', 'cluster', 'metadata', 'locality', 'user_agent_name', 'user_agent_version', 'client_features'];
const LOCALITY_FIELDS: readonly string[] = ['region', 'zone', 'sub_zone'];
const STRUCT_FIELDS: readonly string[] = ['fields'];
const LIST_VALUE_FIELDS: readonly string[] = ['values'];
const VALUE_KINDS: readonly string[] = Object.values(STRUCT_VALUE_FIELDS);

/**
 * envoy.config.core.v3.Node as protobufjs writes it from the object NodeMessage.ts builds (id,
 * cluster, a Struct of metadata, a locality, the user agent, client features; ASCII strings), or
 * undefined for any other shape. Once per stream, so built from parts rather than sized first;
 * written here so that an ADS client whose responses take the one-pass decoders never loads
 * protobufjs (Protobufjs.ts).
 */
export function encodeNodeWire(node: unknown): Buffer | undefined {
  if (!onlyFields(node, NODE_FIELDS)) return undefined;
  const parts: Buffer[] = [];
  const ok =
    optionalString(parts, 1, node['id']) &&
    optionalString(parts, 2, node['cluster']) &&
    optionalMessage(parts, 3, node['metadata'], structBytes) &&
    optionalMessage(parts, 4, node['locality'], localityBytes) &&
    optionalString(parts, 6, node['user_agent_name']) &&
    optionalString(parts, 7, node['user_agent_version']) &&
    optionalStrings(parts, 10, node['client_features']);
  return ok ? Buffer.concat(parts) : undefined;
}

function localityBytes(locality: unknown): Buffer | undefined {
  if (!onlyFields(locality, LOCALITY_FIELDS)) return undefined;
  const parts: Buffer[] = [];
  const ok = optionalString(parts, 1, locality['region']) && optionalString(parts, 2, locality['zone']) && optionalString(parts, 3, locality['sub_zone']);
  return ok ? Buffer.concat(parts) : undefined;
}

/** google.protobuf.Struct: its map entries in key order as given, each { key = 1; value = 2 } with both written. */
function structBytes(struct: unknown): Buffer | undefined {
  if (!onlyFields(struct, STRUCT_FIELDS)) return undefined;
  const fields = struct['fields'];
  const parts: Buffer[] = [];
  if (fields != null) {
    if (typeof fields !== 'object' || Array.isArray(fields)) return undefined;
    for (const key of Object.keys(fields)) {
      const value = valueBytes((fields as Record<string, unknown>)[key]);
      const keyPart = stringBytes((1 << 3) | LEN, key);
      if (value === undefined || keyPart === undefined) return undefined;
      const entry = Buffer.concat([keyPart, lenBytes((2 << 3) | LEN, value)]);
      parts.push(lenBytes((1 << 3) | LEN, entry));
    }
  }
  return Buffer.concat(parts);
}

/** google.protobuf.Value with exactly one kind set, under the names protobufjs gives them. */
function valueBytes(value: unknown): Buffer | undefined {
  if (!onlyFields(value, VALUE_KINDS)) return undefined;
  const kinds = Object.keys(value).filter((k) => value[k] != null);
  if (kinds.length !== 1) return undefined;
  const v = value[kinds[0]!];
  switch (kinds[0]) {
    case STRUCT_VALUE_FIELDS.null:
      return v === 'NULL_VALUE' || v === 0 ? Buffer.from([(1 << 3) | 0, 0]) : undefined;
    case STRUCT_VALUE_FIELDS.number: {
      if (typeof v !== 'number') return undefined;
      const b = Buffer.allocUnsafe(9);
      b[0] = (2 << 3) | 1; // 64-bit
      b.writeDoubleLE(v, 1);
      return b;
    }
    case STRUCT_VALUE_FIELDS.string:
      return stringBytes((3 << 3) | LEN, v);
    case STRUCT_VALUE_FIELDS.bool:
      return typeof v === 'boolean' ? Buffer.from([(4 << 3) | 0, v ? 1 : 0]) : undefined;
    case STRUCT_VALUE_FIELDS.struct: {
      const struct = structBytes(v);
      return struct && lenBytes((5 << 3) | LEN, struct);
    }
    default: {
      // list_value: google.protobuf.ListValue { repeated Value values = 1; }
      if (!onlyFields(v, LIST_VALUE_FIELDS)) return undefined;
      const values = v['values'] ?? [];
      if (!Array.isArray(values)) return undefined;
      const items: Buffer[] = [];
      for (const item of values) {
        const b = valueBytes(item);
        if (b === undefined) return undefined;
        items.push(lenBytes((1 << 3) | LEN, b));
      }
      return lenBytes((6 << 3) | LEN, Buffer.concat(items));
    }
  }
}

/** Appends a string field when set (protobufjs writes a set string even when empty); false outside the shape. */
function optionalString(parts: Buffer[], id: number, value: unknown): boolean {
  if (value == null) return true;
  const b = stringBytes((id << 3) | LEN, value);
  if (b !== undefined) parts.push(b);
  return b !== undefined;
}

function optionalStrings(parts: Buffer[], id: number, value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const s of value) {
    const b = stringBytes((id << 3) | LEN, s);
    if (b === undefined) return false;
    parts.push(b);
  }
  return true;
}

function optionalMessage(parts: Buffer[], id: number, value: unknown, encode: (v: unknown) => Buffer | undefined): boolean {
  if (value == null) return true;
  const b = encode(value);
  if (b !== undefined) parts.push(lenBytes((id << 3) | LEN, b));
  return b !== undefined;
}

/** A string field, or undefined when `value` is not an ASCII string (see stringField). */
function stringBytes(tag: number, value: unknown): Buffer | undefined {
  const n = stringField(value);
  if (n < 0) return undefined;
  const b = Buffer.allocUnsafe(n);
  writeString(b, 0, tag, value as string);
  return b;
}

function lenBytes(tag: number, content: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(lenField(content.length));
  writeBytes(b, 0, tag, content);
  return b;
}
