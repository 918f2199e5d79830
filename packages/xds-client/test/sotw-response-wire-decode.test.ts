import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeDiscoveryResponseWire } from '../src/proto/DiscoveryResponseWire.js';
import { messageCodec } from '../src/proto/MessageCodec.js';
import { responseAgreement } from './helpers/responseAgreement.js';

const TYPE = 'envoy.service.discovery.v3.DiscoveryResponse';
const { encode, general, expectAgreement, checkProperty } = responseAgreement(TYPE, decodeDiscoveryResponseWire);

const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const push = {
  version_info: 'v7',
  type_url: CLUSTER,
  nonce: '3',
  resources: [
    { type_url: CLUSTER, value: Buffer.from([0x0a, 0x02, 0x63, 0x31]) },
    { type_url: CLUSTER, value: Buffer.alloc(0) },
  ],
};

describe('DiscoveryResponse (state of the world) one-pass wire decode', () => {
  it('decodes a push to the object form of the general path, Any values as views over the message', () => {
    const bytes = encode(push);
    expect(expectAgreement(bytes)).toBe('fast');
    const value = decodeDiscoveryResponseWire(bytes)!.resources[0]!.value!;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(value.buffer).toBe(bytes.buffer);
    expect([...value]).toStrictEqual([0x0a, 0x02, 0x63, 0x31]);
  });

  it('is what the ADS codec deserializes, with the general path for the rest', () => {
    const codec = messageCodec<Record<string, unknown>>(TYPE);
    for (const m of [push, { ...push, control_plane: { identifier: 'cp' } }, { ...push, canary: true }, {}]) {
      const bytes = encode(m);
      expect(codec.deserialize(bytes)).toStrictEqual((general(bytes) as { value: unknown }).value);
    }
    expect(decodeDiscoveryResponseWire(new Uint8Array(encode(push)) as Buffer)).toBeUndefined();
  });

  it('leaves fields the client does not read to the general path', () => {
    for (const m of [{ ...push, control_plane: { identifier: 'cp' } }, { ...push, canary: true }]) expect(expectAgreement(encode(m))).toBe('general');
  });

  it('property: for generated responses and every truncation of one, the fast path agrees with the general path (300 + 300 runs)', () => {
    const str = fc.oneof(fc.constantFrom('', 'v1', CLUSTER, 'ü'), fc.string({ maxLength: 6 }));
    const message = fc.record(
      {
        version_info: str,
        type_url: str,
        nonce: str,
        resources: fc.array(fc.record({ type_url: str, value: fc.uint8Array({ maxLength: 8 }) }, { requiredKeys: [] }), { maxLength: 4 }),
        // Outside the fast path.
        canary: fc.boolean(),
        control_plane: fc.constant({ identifier: 'cp' }),
      },
      { requiredKeys: [] },
    );
    checkProperty(message, 300);
  });
});
