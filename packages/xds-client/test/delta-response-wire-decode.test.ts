import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeDeltaDiscoveryResponseWire } from '../src/proto/DiscoveryResponseWire.js';
import { messageCodec } from '../src/proto/MessageCodec.js';
import { responseAgreement } from './helpers/responseAgreement.js';

const TYPE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
const { encode, general, expectAgreement, checkProperty } = responseAgreement(TYPE, decodeDeltaDiscoveryResponseWire);

const push = {
  system_version_info: 'v7',
  type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  nonce: '3',
  resources: [
    { name: 'c1', version: 'a1', resource: { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: Buffer.from([0x0a, 0x02, 0x63, 0x31]) } },
    { name: 'c2', version: 'a2', aliases: ['x'], resource: { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: Buffer.alloc(0) } },
  ],
  removed_resources: ['c0'],
};

describe('DeltaDiscoveryResponse one-pass wire decode', () => {
  it('decodes a push to the object form of the general path, Any values as views over the message', () => {
    const bytes = encode(push);
    expect(expectAgreement(bytes)).toBe('fast');
    const fast = decodeDeltaDiscoveryResponseWire(bytes)!;
    const value = fast.resources[0]!.resource!.value!;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(value.buffer).toBe(bytes.buffer);
    expect([...value]).toStrictEqual([0x0a, 0x02, 0x63, 0x31]);
  });

  it('is what the ADS codec deserializes, with the general path for the rest', () => {
    const codec = messageCodec<Record<string, unknown>>(TYPE);
    for (const m of [push, { ...push, control_plane: { identifier: 'cp' } }, { resources: [{ name: 'a', ttl: { seconds: 5 } }] }, {}]) {
      const bytes = encode(m);
      expect(codec.deserialize(bytes)).toStrictEqual((general(bytes) as { value: unknown }).value);
    }
    expect(decodeDeltaDiscoveryResponseWire(new Uint8Array(encode(push)) as Buffer)).toBeUndefined();
  });

  it('reads each resource\'s own type URL when it repeats, changes at the same length or is not ASCII', () => {
    const url = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
    const urls = [url, url, url.replace('Cluster', 'Clustes'), url, 'é'.repeat(url.length / 2), 'é'.repeat(url.length / 2), 'Ã©'.repeat(url.length / 4), url.slice(1), url];
    const bytes = encode({ type_url: url, resources: urls.map((type_url, i) => ({ name: `r${i}`, resource: { type_url, value: Buffer.from([i]) } })) });
    expect(expectAgreement(bytes)).toBe('fast');
    // Each is its own text, though a repeat is the same string as the resource's before it.
    expect(decodeDeltaDiscoveryResponseWire(bytes)!.resources.map((r) => r.resource!.type_url)).toStrictEqual(urls);
    // No aliases: the shared frozen empty list (still equal to the general path's []).
    expect(Object.isFrozen(decodeDeltaDiscoveryResponseWire(bytes)!.resources[0]!.aliases)).toBe(true);
  });

  it('leaves fields the client does not read to the general path', () => {
    const outside = [
      { ...push, control_plane: { identifier: 'cp' } },
      { resources: [{ name: 'a', ttl: { seconds: 5 } }] },
      { resources: [{ name: 'a', cache_control: { do_not_cache: true } }] },
      { removed_resource_names: [{ name: 'a' }] },
    ];
    for (const m of outside) expect(expectAgreement(encode(m))).toBe('general');
  });

  it('property: for generated responses and every truncation of one, the fast path agrees with the general path (300 + 300 runs)', () => {
    const str = fc.oneof(fc.constantFrom('', 'c1', 'type.googleapis.com/envoy.config.cluster.v3.Cluster', 'ü'), fc.string({ maxLength: 6 }));
    const resource = fc.record(
      {
        name: str,
        version: str,
        aliases: fc.array(str, { maxLength: 2 }),
        resource: fc.record({ type_url: str, value: fc.uint8Array({ maxLength: 8 }) }, { requiredKeys: [] }),
        // Outside the fast path.
        ttl: fc.constant({ seconds: 5 }),
      },
      { requiredKeys: [] },
    );
    const message = fc.record(
      {
        system_version_info: str,
        type_url: str,
        nonce: str,
        resources: fc.array(fc.oneof(resource, resource.map(({ ttl: _ttl, ...r }) => r)), { maxLength: 4 }),
        removed_resources: fc.array(str, { maxLength: 3 }),
        control_plane: fc.constant({ identifier: 'cp' }),
      },
      { requiredKeys: [] },
    );
    checkProperty(message, 300);
  });
});
