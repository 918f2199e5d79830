import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { envoyRoot, TO_OBJECT } from '../src/proto/EnvoyProtos.js';
import { encodeDeltaDiscoveryRequestWire, encodeDiscoveryRequestWire } from '../src/proto/DiscoveryRequestWire.js';
import { messageCodec } from '../src/proto/MessageCodec.js';
import { nodeMessage } from '../src/transport/NodeMessage.js';

const SOTW = 'envoy.service.discovery.v3.DiscoveryRequest';
const DELTA = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

/** The general path: protobufjs fromObject, then encode. */
const general = (typeName: string, m: Record<string, unknown>): Buffer => {
  const t = envoyRoot().lookupType(typeName);
  return Buffer.from(t.encode(t.fromObject(m)).finish());
};
const decoded = (typeName: string, bytes: Buffer): unknown => {
  const t = envoyRoot().lookupType(typeName);
  return t.toObject(t.decode(bytes), TO_OBJECT);
};
const fastFor = { [SOTW]: encodeDiscoveryRequestWire, [DELTA]: encodeDeltaDiscoveryRequestWire } as const;

/** The fast path writes exactly the general path's bytes, or declines. */
function expectAgreement(typeName: typeof SOTW | typeof DELTA, m: Record<string, unknown>): 'fast' | 'general' {
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

describe('discovery request one-pass wire encode', () => {
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
});
