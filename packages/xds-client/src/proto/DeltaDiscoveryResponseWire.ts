import { LEN, giveUp, lengthEnd, string, stringLike, readWhole, varint, type Cursor } from '../resources/common/WireCursor.js';
import { NO_ITEMS } from '../resources/common/SharedEmpties.js';
import type { AnyMessage } from './EnvoyProtos.js';

/** The object form (protobufjs toObject with TO_OBJECT) of the DeltaDiscoveryResponse fields read here. */
interface DeltaResponseObject {
  resources: ResourceObject[];
  removed_resources: string[];
  removed_resource_names: never[];
  system_version_info?: string;
  type_url?: string;
  nonce?: string;
}

interface ResourceObject {
  /** The shared frozen empty list when there are none (nearly always): no array per resource. */
  aliases: readonly string[];
  version?: string;
  resource?: AnyMessage | { type_url?: string; value?: Buffer };
  name?: string;
}

/**
 * One-pass decode of a DeltaDiscoveryResponse into the object form that protobufjs decode +
 * toObject (TO_OBJECT) give, for the ADS client's receive path: a 20,000-resource push otherwise
 * builds every Resource and Any twice (message, then object) before the client reads them.
 *
 * Only the fields the client reads are taken: system_version_info, resources (name, version,
 * aliases, resource as an Any), type_url, removed_resources, nonce. Anything else (ttl,
 * cache_control, metadata, resource names, control_plane, unknown fields) and anything
 * malformed returns undefined, and the codec takes the general path. Keys appear where
 * toObject puts them (repeated fields first, then by field number), with Any values as Buffer
 * views over the message, as protobufjs gives them (test: delta-response-wire-decode.test.ts).
 */
export function decodeDeltaDiscoveryResponseWire(bytes: Buffer): DeltaResponseObject | undefined {
  // protobufjs copies bytes out of a plain Uint8Array but slices a Buffer: only a Buffer is taken.
  if (!Buffer.isBuffer(bytes)) return undefined;
  return readWhole(bytes, response);
}

function response(r: Cursor, end: number): DeltaResponseObject {
  const out: DeltaResponseObject = { resources: [], removed_resources: [], removed_resource_names: [] };
  let version: string | undefined;
  let typeUrl: string | undefined;
  let nonce: string | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) version = string(r, end);
    else if (tag === ((2 << 3) | LEN)) out.resources.push(resource(r, lengthEnd(r, end)));
    else if (tag === ((4 << 3) | LEN)) typeUrl = string(r, end);
    else if (tag === ((5 << 3) | LEN)) nonce = string(r, end);
    else if (tag === ((6 << 3) | LEN)) out.removed_resources.push(string(r, end));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  if (version !== undefined) out.system_version_info = version;
  if (typeUrl !== undefined) out.type_url = typeUrl;
  if (nonce !== undefined) out.nonce = nonce;
  return out;
}

/** envoy.service.discovery.v3.Resource: version (1), resource (2), name (3), aliases (4). */
function resource(r: Cursor, end: number): ResourceObject {
  let aliases: string[] | undefined;
  let version: string | undefined;
  let any: ResourceObject['resource'];
  let name: string | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) version = string(r, end);
    else if (tag === ((2 << 3) | LEN) && any === undefined) any = anyOf(r, lengthEnd(r, end));
    else if (tag === ((3 << 3) | LEN)) name = string(r, end);
    else if (tag === ((4 << 3) | LEN)) (aliases ??= []).push(string(r, end));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  // The usual resource, whole: one literal, not keys added one by one into a property array.
  if (version !== undefined && any !== undefined && name !== undefined) return { aliases: aliases ?? NO_ITEMS, version, resource: any, name };
  const out: ResourceObject = { aliases: aliases ?? NO_ITEMS };
  if (version !== undefined) out.version = version;
  if (any !== undefined) out.resource = any;
  if (name !== undefined) out.name = name;
  return out;
}

/**
 * The type URL read last. Every resource of a response has the same one: reusing the string
 * saves one 60-byte string per resource, which the client keeps (configDump's raw Any) for each
 * of a push's 20,000 resources.
 */
let lastTypeUrl: string | undefined;

/** google.protobuf.Any: type_url (1), value (2) as a view over the message, like protobufjs's. */
function anyOf(r: Cursor, end: number): ResourceObject['resource'] {
  let typeUrl: string | undefined;
  let value: Buffer | undefined;
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) typeUrl = lastTypeUrl = stringLike(r, end, lastTypeUrl);
    else if (tag === ((2 << 3) | LEN)) {
      const e = lengthEnd(r, end);
      value = (r.buf as Buffer).subarray(r.pos, e);
      r.pos = e;
    } else giveUp();
  }
  if (r.pos !== end) giveUp();
  if (typeUrl !== undefined && value !== undefined) return { type_url: typeUrl, value };
  return typeUrl !== undefined ? { type_url: typeUrl } : value !== undefined ? { value } : {};
}
