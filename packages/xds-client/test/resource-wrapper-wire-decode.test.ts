import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { envoyRoot, TO_OBJECT } from '../src/proto/EnvoyProtos.js';
import { decodeResourceWire } from '../src/proto/DiscoveryResponseWire.js';

// A SotW response may wrap each resource in envoy.service.discovery.v3.Resource (client feature
// xds.config.resource-in-sotw); the ADS client unwraps the common shape without protobufjs.
const RESOURCE = 'envoy.service.discovery.v3.Resource';
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const encode = (m: Record<string, unknown>): Buffer => {
  const t = envoyRoot().lookupType(RESOURCE);
  return Buffer.from(t.encode(t.fromObject(m)).finish());
};
const general = (bytes: Buffer): Record<string, unknown> => {
  const t = envoyRoot().lookupType(RESOURCE);
  return t.toObject(t.decode(bytes), TO_OBJECT) as Record<string, unknown>;
};

describe('Resource wrapper one-pass wire decode', () => {
  it('gives the general path object for name, version, Any and aliases; declines ttl and plain Uint8Arrays', () => {
    const bytes = encode({ name: 'c1', version: 'v1', resource: { type_url: CDS, value: Buffer.from([0x0a, 0x02, 0x63, 0x31]) }, aliases: ['a'] });
    const fast = decodeResourceWire(bytes)!;
    expect(fast).toStrictEqual(general(bytes));
    expect(Object.keys(fast)).toStrictEqual(Object.keys(general(bytes)));
    expect(decodeResourceWire(encode({ name: 'c1', ttl: { seconds: 5 } }))).toBeUndefined();
    expect(decodeResourceWire(new Uint8Array(bytes))).toBeUndefined();
  });

  it('property: for generated wrappers and truncations, the fast path agrees with the general path or declines (300 runs)', () => {
    const str = fc.string({ maxLength: 20 });
    const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const wrapper = fc.record({
      name: optional(str),
      version: optional(str),
      resource: optional(fc.record({ type_url: optional(str), value: optional(fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u))) })),
      aliases: optional(fc.array(str, { maxLength: 3 })),
      ttl: optional(fc.record({ seconds: fc.nat(100) })),
    });
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(wrapper, fc.nat(), (m, cut) => {
        const whole = encode(m);
        for (const bytes of [whole, whole.subarray(0, whole.length === 0 ? 0 : cut % whole.length)]) {
          const fast = decodeResourceWire(bytes);
          if (bytes === whole) outcomes.add(fast === undefined ? 'general' : 'fast');
          if (fast !== undefined) {
            expect(fast).toStrictEqual(general(bytes));
            expect(Object.keys(fast)).toStrictEqual(Object.keys(general(bytes)));
          }
        }
      }),
      { numRuns: 300, seed: 31 },
    );
    expect([...outcomes].sort()).toStrictEqual(['fast', 'general']);
  });
});
