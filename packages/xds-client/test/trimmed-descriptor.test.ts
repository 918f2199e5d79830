import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { allFixtureResources } from './helpers/fixture-extract.js';
import { codeGeneratedWhile } from './helpers/generated-code.js';
import { rootFromDescriptor, splitDescriptor, typeNamesOf, type SplitDescriptor } from '../src/proto/DescriptorRoot.js';
import { CORE_PROTO_FILES, EXTENDED_PROTO_FILES, parseEnvoyProtos } from '../src/proto/EnvoyProtoFiles.js';
import { TO_OBJECT, typeNameOf } from '../src/proto/EnvoyProtos.js';
import { encodeProto3Json } from '../src/proto/ProtoJson.js';
import { trimmedDescriptor } from '../src/proto/TrimmedDescriptor.js';

// The build writes the trimmed descriptor to dist/ (scripts/build-envoy-descriptor.mjs) and built
// packages decode with it; tests run from src/, where envoyRoot() parses the .proto files. These
// tests build the same descriptor in-process, split per type as the build writes it, and check
// that the root built from it on demand decodes and encodes exactly as the parsed tree does, on
// the real control-plane fixtures.

let full: protobuf.Root;
let descriptor: protobuf.INamespace;
let split: SplitDescriptor;
let trimmed: protobuf.Root;
let otherTypes: Set<string>;

beforeAll(() => {
  descriptor = trimmedDescriptor(parseEnvoyProtos(CORE_PROTO_FILES), CORE_PROTO_FILES);
  full = parseEnvoyProtos([...CORE_PROTO_FILES, ...EXTENDED_PROTO_FILES]);
  const kept = new Set(typeNamesOf(protobuf.Root.fromJSON(descriptor)));
  otherTypes = new Set(typeNamesOf(full).filter((n) => !kept.has(n)));
  split = splitDescriptor(descriptor);
  trimmed = rootFromDescriptor(split, () => otherTypes, () => full);
}, 60_000);

/** Decodes `bytes` as `typeName` with `root`, expanding every nested Any the root can decode. */
function decodeDeep(root: protobuf.Root, typeName: string, bytes: Uint8Array): unknown {
  const type = root.lookupType(typeName);
  return expandAnys(root, type.toObject(type.decode(bytes), TO_OBJECT));
}

function expandAnys(root: protobuf.Root, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => expandAnys(root, v));
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const o = value as Record<string, unknown>;
  if (typeof o.type_url === 'string' && o.value instanceof Uint8Array) {
    const name = typeNameOf(o.type_url);
    let inner: protobuf.Type | undefined;
    try {
      inner = root.lookupType(name);
    } catch {
      return { type_url: o.type_url, opaque: Buffer.from(o.value).toString('base64') };
    }
    return { type_url: o.type_url, decoded: expandAnys(root, inner.toObject(inner.decode(o.value), TO_OBJECT)) };
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, expandAnys(root, v)]));
}

describe('trimmed Envoy descriptor', () => {
  it('keeps the types the core files declare and what they reach, and drops the rest', () => {
    const kept = typeNamesOf(protobuf.Root.fromJSON(descriptor));
    for (const name of [
      'envoy.service.discovery.v3.DiscoveryRequest',
      'envoy.service.discovery.v3.DeltaDiscoveryResponse',
      'envoy.service.discovery.v3.Resource',
      'envoy.config.listener.v3.Listener',
      'envoy.config.cluster.v3.Cluster.LbPolicy',
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      'google.protobuf.Struct',
      'google.rpc.Status',
    ]) {
      expect(kept, name).toContain(name);
    }
    // Only code generators read these; nothing Meshlet decodes references them.
    expect(kept.some((n) => n.startsWith('validate.') || n.startsWith('udpa.annotations.') || n === 'google.protobuf.FieldOptions')).toBe(false);
    expect(kept.length).toBeLessThan(typeNamesOf(full).length);
    const text = JSON.stringify(descriptor);
    expect(text).not.toContain('(validate.rules)');
    expect(text).not.toContain('(udpa.annotations');
    expect(protobuf.Root.fromJSON(descriptor).lookupService('envoy.service.discovery.v3.AggregatedDiscoveryService').methodsArray.map((m) => m.name)).toEqual([
      'StreamAggregatedResources',
      'DeltaAggregatedResources',
    ]);
  });

  it('decodes every real control-plane resource exactly as the parsed .proto tree does, nested Anys included', () => {
    let compared = 0;
    for (const r of allFixtureResources()) {
      let bytes: Uint8Array;
      try {
        bytes = encodeProto3Json(typeNameOf(r.typeUrl), r.json, { ignoreUnknownFields: true });
      } catch {
        continue; // not encodable as proto3 JSON; the fixture test covers the rejection
      }
      const name = typeNameOf(r.typeUrl);
      expect(decodeDeep(trimmed, name, bytes), `${r.file} ${r.location}`).toEqual(decodeDeep(full, name, bytes));
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('encodes byte for byte as the parsed tree does (packed repeated fields, maps, oneofs)', () => {
    const value = {
      cluster_name: 'c',
      endpoints: [{ locality: { zone: 'z' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: 3 } }] }],
      policy: { drop_overloads: [{ category: 'x', drop_percentage: { numerator: 5, denominator: 'TEN_THOUSAND' } }] },
    };
    const name = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
    const enc = (root: protobuf.Root) => Buffer.from(root.lookupType(name).encode(root.lookupType(name).fromObject(value)).finish());
    expect(enc(trimmed).equals(enc(full))).toBe(true);
    const hcm = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
    const hcmValue = { stat_prefix: 's', codec_type: 'AUTO', upgrade_configs: [{ upgrade_type: 'websocket' }], route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', headers: [{ name: 'a', string_match: { exact: 'b' } }] }, route: { cluster: 'c', retry_policy: { retriable_status_codes: [503, 504] } } }] }] } };
    const encH = (root: protobuf.Root) => Buffer.from(root.lookupType(hcm).encode(root.lookupType(hcm).fromObject(hcmValue)).finish());
    expect(encH(trimmed).equals(encH(full))).toBe(true);
  });

  it('serves a type outside the descriptor from the .proto tree, parsed once, and an unknown name never parses it', () => {
    let fullParses = 0;
    const root = rootFromDescriptor(split, () => otherTypes, () => {
      fullParses++;
      return full;
    });
    expect(() => root.lookupType('stats.PluginConfig')).toThrow();
    expect(() => root.lookupType('istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig')).toThrow();
    expect(fullParses).toBe(0);
    expect(root.lookupType('envoy.admin.v3.ListenersConfigDump').fullName).toBe('.envoy.admin.v3.ListenersConfigDump');
    expect(root.lookupType('.envoy.extensions.filters.http.cors.v3.Cors').fullName).toBe('.envoy.extensions.filters.http.cors.v3.Cors');
    expect(fullParses).toBe(1);
  });

  it('builds a type when it is first looked up or reached, not the whole descriptor', () => {
    const root = rootFromDescriptor(split, () => otherTypes, () => full);
    expect(typeNamesOf(root)).toEqual([]);
    const cla = root.lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment');
    const bytes = cla.encode(cla.fromObject({ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }] })).finish();
    expect(decodeDeep(root, cla.fullName, bytes)).toEqual(decodeDeep(full, cla.fullName, bytes));
    const built = typeNamesOf(root);
    // Reached through its fields (Address, Locality...), so built; a Listener is not reached.
    expect(built).toContain('envoy.config.core.v3.SocketAddress');
    expect(built).not.toContain('envoy.config.listener.v3.Listener');
    expect(built.length).toBeLessThan(typeNamesOf(trimmed).length);
    // A nested name builds its top-level message; the root resolves it like any other.
    expect(root.lookupType('envoy.config.cluster.v3.Cluster.CommonLbConfig').fullName).toBe('.envoy.config.cluster.v3.Cluster.CommonLbConfig');
    expect(root.lookupEnum('envoy.config.cluster.v3.Cluster.LbPolicy').values['ROUND_ROBIN']).toBe(0);
    expect(typeNamesOf(root)).toContain('envoy.config.cluster.v3.Cluster');
    // An Any's type is built when fromObject reaches it by its type URL.
    const hcm = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
    const name = 'envoy.config.listener.v3.Listener';
    const value = { name: 'l', api_listener: { api_listener: { '@type': hcm, stat_prefix: 's' } } };
    const enc = (r: protobuf.Root) => Buffer.from(r.lookupType(name).encode(r.lookupType(name).fromObject(value)).finish());
    expect(enc(root).equals(enc(full))).toBe(true);
    expect(decodeDeep(root, name, enc(root))).toEqual(decodeDeep(full, name, enc(full)));
    expect(typeNamesOf(root)).toContain('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  });

  it("generates each type's codecs one at a time, on first call, and all of them on setup()", () => {
    const root = rootFromDescriptor(split, () => otherTypes, () => full);
    const name = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
    const bytes = full.lookupType(name).encode(full.lookupType(name).fromObject({ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }] })).finish();
    const generated: string[] = [];
    const codecs = () => generated.filter((n) => n.includes('$')).map((n) => n.slice(n.indexOf('$')));
    const cla = root.lookupType(name);
    let decoded!: protobuf.Message;
    generated.push(...codeGeneratedWhile(() => (decoded = cla.decode(bytes))));
    // Decoding reaches the nested types' decode and nothing else (verify, encode, the converters).
    expect(new Set(codecs())).toEqual(new Set(['$decode']));
    expect(generated).toContain('ClusterLoadAssignment$decode');
    const expected = full.lookupType(name).toObject(full.lookupType(name).decode(bytes), TO_OBJECT);
    generated.push(...codeGeneratedWhile(() => expect(cla.toObject(decoded, TO_OBJECT)).toEqual(expected)));
    expect(new Set(codecs())).toEqual(new Set(['$decode', '$toObject']));
    // A generated codec replaces the first-call one on the type, as protobufjs's setup leaves it.
    const decode = cla.decode;
    expect(codeGeneratedWhile(() => cla.decode(bytes))).toEqual([]);
    expect(cla.decode).toBe(decode);
    // setup() generates the rest for this type and returns it; a round trip through them agrees with the parsed tree.
    const rest = codeGeneratedWhile(() => expect(cla.setup()).toBe(cla));
    expect(rest.map((n) => n.slice(n.indexOf('$'))).sort()).toEqual(['$encode', '$fromObject', '$verify']);
    expect(cla.verify(cla.toObject(decoded))).toBeNull();
    const again = Buffer.from(cla.encode(cla.fromObject(cla.toObject(decoded))).finish());
    expect(again.equals(Buffer.from(bytes))).toBe(true);
  });
});
