import { LEN, giveUp, lengthEnd, string, stringLike, readWhole, varint, type Cursor } from '../resources/common/WireCursor.js';
import { NO_ITEMS } from '../resources/common/SharedEmpties.js';
import type { AnyMessage } from './EnvoyProtos.js';

type AnyObject = AnyMessage | { type_url?: string; value?: Buffer };

/** The object form (protobufjs toObject with TO_OBJECT) of the DiscoveryResponse fields read here. */
interface ResponseObject {
  resources: AnyObject[];
  version_info?: string;
  type_url?: string;
  nonce?: string;
}

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
  resource?: AnyObject;
  name?: string;
}

/**
 * One-pass decode of a state-of-the-world DiscoveryResponse into the object form that protobufjs
 * decode + toObject (TO_OBJECT) give, for the ADS client's receive path, as for delta below:
 * without it each push built every Any twice (message, then object), and the client needed the
 * response's reflection and generated codecs.
 *
 * Only the fields the client reads are taken: version_info, resources (Anys), type_url, nonce.
 * Anything else (canary, control_plane, unknown fields) and anything malformed returns undefined,
 * and the codec takes the general path (test: sotw-response-wire-decode.test.ts).
 */
export function decodeDiscoveryResponseWire(bytes: Buffer): ResponseObject | undefined {
  // protobufjs copies bytes out of a plain Uint8Array but slices a Buffer: only a Buffer is taken.
  if (!Buffer.isBuffer(bytes)) return undefined;
  return readWhole(bytes, (r, end) => {
    const out: ResponseObject = { resources: [] };
    const common = responseFields(r, end, out.resources, anyOf);
    if (common.version !== undefined) out.version_info = common.version;
    return withCommon(out, common);
  });
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

/**
 * One-pass decode of an envoy.service.discovery.v3.Resource, as a SotW response may wrap its
 * resources (client feature xds.config.resource-in-sotw), into the object form the delta path
 * gives its resources; undefined for anything else (ttl, cache_control, metadata, malformed),
 * which the caller decodes with protobufjs.
 */
export function decodeResourceWire(bytes: Uint8Array): ResourceObject | undefined {
  if (!Buffer.isBuffer(bytes)) return undefined;
  return readWhole(bytes, resource);
}

/** What both responses carry: version (1), resources (2), type_url (4), nonce (5); `removed` (6) for delta. */
interface CommonFields {
  version?: string;
  typeUrl?: string;
  nonce?: string;
}

function responseFields<R>(r: Cursor, end: number, resources: R[], readResource: (r: Cursor, end: number) => R, removed?: string[]): CommonFields {
  const common: CommonFields = {};
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) common.version = string(r, end);
    else if (tag === ((2 << 3) | LEN)) resources.push(readResource(r, lengthEnd(r, end)));
    else if (tag === ((4 << 3) | LEN)) common.typeUrl = string(r, end);
    else if (tag === ((5 << 3) | LEN)) common.nonce = string(r, end);
    else if (tag === ((6 << 3) | LEN) && removed !== undefined) removed.push(string(r, end));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return common;
}

/** type_url and nonce, after the repeated fields and the version, where toObject puts them. */
function withCommon<T extends { type_url?: string; nonce?: string }>(out: T, common: CommonFields): T {
  if (common.typeUrl !== undefined) out.type_url = common.typeUrl;
  if (common.nonce !== undefined) out.nonce = common.nonce;
  return out;
}

function response(r: Cursor, end: number): DeltaResponseObject {
  const out: DeltaResponseObject = { resources: [], removed_resources: [], removed_resource_names: [] };
  const common = responseFields(r, end, out.resources, resource, out.removed_resources);
  if (common.version !== undefined) out.system_version_info = common.version;
  return withCommon(out, common);
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
function anyOf(r: Cursor, end: number): AnyObject {
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
