import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { envoyRoot, TO_OBJECT } from '../src/proto/EnvoyProtos.js';
import { encodeDeltaDiscoveryRequestWire, encodeDeltaDiscoveryResponseWire, encodeDiscoveryRequestWire, encodeDiscoveryResponseWire, encodeNodeWire } from '../src/proto/DiscoveryMessageWire.js';
import { messageCodec } from '../src/proto/MessageCodec.js';
import { nodeMessage } from '../src/transport/NodeMessage.js';

const SOTW = 'envoy.service.discovery.v3.DiscoveryRequest';
const DELTA = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
const SOTW_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
const DELTA_RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const NODE = 'envoy.config.core.v3.Node';

/** The general path: protobufjs fromObject, then encode. */
const general = (typeName: string, m: Record<string, unknown>): Buffer => {
  const t = envoyRoot().lookupType(typeName);
  return Buffer.from(t.encode(t.fromObject(m)).finish());
};
const decoded = (typeName: string, bytes: Buffer): unknown => {
  const t = envoyRoot().lookupType(typeName);
  return t.toObject(t.decode(bytes), TO_OBJECT);
};
const fastFor = {
  [SOTW]: encodeDiscoveryRequestWire,
  [DELTA]: encodeDeltaDiscoveryRequestWire,
  [SOTW_RESPONSE]: encodeDiscoveryResponseWire,
  [DELTA_RESPONSE]: encodeDeltaDiscoveryResponseWire,
} as const;

/** The fast path writes exactly the general path's bytes, or declines. */
function expectAgreement(typeName: keyof typeof fastFor, m: Record<string, unknown>): 'fast' | 'general' {
  const fast = fastFor[typeName](m);
  if (fast === undefined) return 'general';
  const bytes = general(typeName, m);
  expect(fast.equals(bytes)).toBe(true);
  expect(decoded(typeName, fast)).toStrictEqual(decoded(typeName, bytes));
  return 'fast';
}

const node = nodeMessage({
  id: 'sidecar~10.0.0.1~app-1.default~default.svc.cluster.local',
  cluster: 'app',
  metadata: { GENERATOR: 'grpc', LABELS: { app: 'reviews' }, n: 3 },
  locality: { region: 'eu', zone: 'eu-1', sub_zone: '' },
} as never);
const names = Array.from({ length: 1000 }, (_, i) => `outbound|80||svc${i}.bench.svc.cluster.local`);

describe('discovery message one-pass wire encode', () => {
  it('writes a 1,000-name subscription, with the Node, as the general path does (SotW and delta)', () => {
    expect(expectAgreement(DELTA, { node, type_url: CDS, resource_names_subscribe: names })).toBe('fast');
    expect(expectAgreement(DELTA, { type_url: CDS, resource_names_subscribe: names.slice(0, 3), resource_names_unsubscribe: ['gone'], response_nonce: '7' })).toBe('fast');
    expect(expectAgreement(DELTA, { type_url: CDS, initial_resource_versions: { a: '1', 'b|c': '', '': 'x' } })).toBe('fast');
    expect(expectAgreement(SOTW, { version_info: '', node, resource_names: names, type_url: CDS, response_nonce: '' })).toBe('fast');
    expect(expectAgreement(SOTW, { version_info: 'v3', resource_names: [], type_url: CDS, response_nonce: '12' })).toBe('fast');
  });

  it('leaves the rest to the general path: NACKs, locators, non-ASCII or non-string values, unknown fields', () => {
    const outside: Record<string, unknown>[] = [
      { type_url: CDS, response_nonce: '1', error_detail: { code: 3, message: 'bad' } },
      { type_url: CDS, resource_names_subscribe: ['café'] },
      { type_url: CDS, resource_names_subscribe: [7] },
      { type_url: CDS, initial_resource_versions: { a: 1 } },
      { type_url: 'ü', resource_names_subscribe: ['a'] },
      { type_url: CDS, resource_locators_subscribe: [{ name: 'xdstp://a/b' }] },
      { type_url: CDS, node: 'not an object' },
    ];
    for (const m of outside) expect(encodeDeltaDiscoveryRequestWire(m)).toBeUndefined();
    expect(encodeDiscoveryRequestWire({ type_url: CDS, error_detail: { code: 3, message: 'bad' } })).toBeUndefined();
    // The codec then encodes with protobufjs: the same bytes as the general path.
    const codec = messageCodec<Record<string, unknown>>(DELTA);
    for (const m of outside.filter((o) => o['node'] === undefined)) expect(codec.serialize(m).equals(general(DELTA, m))).toBe(true);
  });

  it('property: a Node built from any bootstrap node writes the general path bytes, or declines (300 runs)', () => {
    expect(encodeNodeWire(node)?.equals(general(NODE, node))).toBe(true);
    // Metadata is any JSON (nested objects, lists, numbers incl. negative and fractional, null);
    // mostly ASCII, some non-ASCII text that the one-pass encoder leaves to protobufjs.
    const text = fc.oneof({ weight: 5, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true }),
        fc.integer(),
        text,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(text, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const bootstrapNode = fc.record(
      {
        id: text,
        cluster: text,
        metadata: fc.dictionary(text, json, { maxKeys: 6 }),
        locality: fc.record({ region: text, zone: text, sub_zone: text }, { requiredKeys: [] }),
      },
      { requiredKeys: ['id', 'cluster'] },
    );
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(bootstrapNode, fc.array(text, { maxLength: 3 }), (n, extra) => {
        const built = nodeMessage(n as never, extra);
        const fast = encodeNodeWire(built);
        outcomes.add(fast === undefined ? 'general' : 'fast');
        if (fast !== undefined) expect(fast.equals(general(NODE, built))).toBe(true);
        // Either way the request carries the general path's bytes.
        expectAgreement(DELTA, { node: built, type_url: CDS, resource_names_subscribe: ['a'] });
        expectAgreement(SOTW, { version_info: '', node: built, resource_names: ['a'], type_url: CDS, response_nonce: '' });
      }),
      { numRuns: 300, seed: 11 },
    );
    expect([...outcomes].sort()).toStrictEqual(['fast', 'general']);
  });

  it('leaves a Node outside the shape NodeMessage builds to protobufjs: same bytes', () => {
    const odd: Record<string, unknown>[] = [
      { ...node, extensions: [{ name: 'x' }] },
      { ...node, metadata: { fields: { a: { stringValue: 'x', boolValue: true } } } },
      { ...node, metadata: { fields: { a: { string_value: 'x' } } } },
      { ...node, client_features: [7] },
      { id: 5 },
    ];
    for (const n of odd) {
      expect(encodeNodeWire(n)).toBeUndefined();
      const m = { node: n, type_url: CDS, resource_names_subscribe: ['a'] };
      expect(messageCodec<Record<string, unknown>>(DELTA).serialize(m).equals(general(DELTA, m))).toBe(true);
    }
  });

  it('is what the ADS codec serializes', () => {
    const m = { node, type_url: CDS, resource_names_subscribe: names.slice(0, 10) };
    expect(messageCodec<Record<string, unknown>>(DELTA).serialize(m).equals(general(DELTA, m))).toBe(true);
    const s = { version_info: 'v1', resource_names: names.slice(0, 10), type_url: CDS, response_nonce: 'n' };
    expect(messageCodec<Record<string, unknown>>(SOTW).serialize(s).equals(general(SOTW, s))).toBe(true);
  });

  it('property: for generated requests, the fast path gives the general path bytes or declines (300 runs each)', () => {
    // Mostly ASCII strings (the fast path), some with any character (the general path), and long
    // lists so that lengths need multi-byte varints.
    const str = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 200 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) });
    const list = fc.array(str, { maxLength: 40 });
    const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const strip = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined));
    const delta = fc
      .record({
        node: optional(fc.constant(node)),
        type_url: optional(str),
        resource_names_subscribe: optional(list),
        resource_names_unsubscribe: optional(list),
        initial_resource_versions: optional(fc.dictionary(str, str, { maxKeys: 10 })),
        response_nonce: optional(str),
      })
      .map(strip);
    const sotw = fc
      .record({ version_info: optional(str), node: optional(fc.constant(node)), resource_names: optional(list), type_url: optional(str), response_nonce: optional(str) })
      .map(strip);
    const outcomes = new Set<string>();
    fc.assert(fc.property(delta, (m) => void outcomes.add(expectAgreement(DELTA, m))), { numRuns: 300, seed: 5 });
    fc.assert(fc.property(sotw, (m) => void outcomes.add(expectAgreement(SOTW, m))), { numRuns: 300, seed: 6 });
    expect([...outcomes].sort()).toStrictEqual(['fast', 'general']);
  });

  it('writes a control plane\'s responses as the general path does: Anys (SotW), Resources with versions and aliases (delta), removals', () => {
    const any = (i: number) => ({ type_url: CDS, value: Buffer.from(Array.from({ length: (i * 37) % 300 }, (_, j) => (i + j) & 255)) });
    const anys = Array.from({ length: 200 }, (_, i) => any(i));
    expect(expectAgreement(SOTW_RESPONSE, { version_info: 'v1', resources: anys, type_url: CDS, nonce: '1' })).toBe('fast');
    expect(expectAgreement(SOTW_RESPONSE, { version_info: '', resources: [], type_url: CDS, nonce: '' })).toBe('fast');
    const resources = anys.map((r, i) => ({ name: `c${i}`, version: `h${i}`, resource: r, ...(i % 7 === 0 ? { aliases: ['a', `b${i}`] } : {}) }));
    expect(expectAgreement(DELTA_RESPONSE, { system_version_info: '3', resources, type_url: CDS, removed_resources: ['gone'], nonce: '9' })).toBe('fast');
    expect(expectAgreement(DELTA_RESPONSE, { resources: [{ name: 'x' }, { resource: {} }, { resource: { value: new Uint8Array(0) } }], nonce: '2' })).toBe('fast');
    // What the AdsServer's ADS codec sends.
    const m = { system_version_info: '3', resources, type_url: CDS, removed_resources: [], nonce: '9' };
    expect(messageCodec<Record<string, unknown>>(DELTA_RESPONSE).serialize(m).equals(general(DELTA_RESPONSE, m))).toBe(true);
  });

  it('leaves other responses to the general path: JSON-form Anys, base64 values, ttl, control_plane, non-ASCII names', () => {
    const value = Buffer.from([1, 2, 3]);
    const outside: [typeof SOTW_RESPONSE | typeof DELTA_RESPONSE, Record<string, unknown>][] = [
      [SOTW_RESPONSE, { resources: [{ '@type': CDS, name: 'c' }] }],
      [SOTW_RESPONSE, { resources: [{ type_url: CDS, value: 'AQID' }] }],
      [SOTW_RESPONSE, { resources: [], canary: true }],
      [DELTA_RESPONSE, { resources: [{ name: 'c', resource: { type_url: CDS, value }, ttl: { seconds: 5 } }] }],
      [DELTA_RESPONSE, { resources: [{ name: 'ç', resource: { type_url: CDS, value } }] }],
      [DELTA_RESPONSE, { resources: [], control_plane: { identifier: 'cp' } }],
    ];
    for (const [typeName, m] of outside) {
      expect(fastFor[typeName](m)).toBeUndefined();
      expect(messageCodec<Record<string, unknown>>(typeName).serialize(m).equals(general(typeName, m))).toBe(true);
    }
  });

  it('property: for generated responses, the fast path gives the general path bytes or declines (300 runs each)', () => {
    const str = fc.oneof({ weight: 6, arbitrary: fc.string({ maxLength: 60 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) });
    const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const strip = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined));
    const anyMessage = fc.record({ type_url: optional(str), value: optional(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u))) }).map(strip);
    const sotw = fc.record({ version_info: optional(str), resources: optional(fc.array(anyMessage, { maxLength: 12 })), type_url: optional(str), nonce: optional(str) }).map(strip);
    const resource = fc.record({ version: optional(str), resource: optional(anyMessage), name: optional(str), aliases: optional(fc.array(str, { maxLength: 3 })) }).map(strip);
    const delta = fc
      .record({ system_version_info: optional(str), resources: optional(fc.array(resource, { maxLength: 12 })), type_url: optional(str), nonce: optional(str), removed_resources: optional(fc.array(str, { maxLength: 5 })) })
      .map(strip);
    const outcomes = new Set<string>();
    fc.assert(fc.property(sotw, (m) => void outcomes.add(expectAgreement(SOTW_RESPONSE, m))), { numRuns: 300, seed: 8 });
    fc.assert(fc.property(delta, (m) => void outcomes.add(expectAgreement(DELTA_RESPONSE, m))), { numRuns: 300, seed: 9 });
    expect([...outcomes].sort()).toStrictEqual(['fast', 'general']);
  });
});
