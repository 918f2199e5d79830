import { expect } from 'vitest';
import fc from 'fast-check';
import { envoyRoot, TO_OBJECT } from '../../src/proto/EnvoyProtos.js';

/**
 * The contract of a one-pass discovery-response decoder (DiscoveryResponseWire) against protobufjs
 * decode + toObject: for any bytes, the fast path gives the general path's object (same keys in
 * the same order, its resources' too) or nothing.
 */
export function responseAgreement<T extends { resources: readonly object[] }>(typeName: string, fast: (bytes: Buffer) => T | undefined) {
  const encode = (m: Record<string, unknown>): Buffer => {
    const t = envoyRoot().lookupType(typeName);
    return Buffer.from(t.encode(t.fromObject(m)).finish());
  };
  /** The general path: protobufjs decode, then toObject. */
  const general = (bytes: Buffer): { ok: true; value: unknown } | { ok: false } => {
    const t = envoyRoot().lookupType(typeName);
    try {
      return { ok: true, value: t.toObject(t.decode(bytes), TO_OBJECT) };
    } catch {
      return { ok: false };
    }
  };
  const expectAgreement = (bytes: Buffer): 'fast' | 'general' => {
    const value = fast(bytes);
    if (value === undefined) return 'general';
    const g = general(bytes);
    expect(g.ok).toBe(true);
    const object = (g as { value: Record<string, unknown> }).value;
    expect(value).toStrictEqual(object);
    expect(Object.keys(value)).toStrictEqual(Object.keys(object));
    value.resources.forEach((r, i) => expect(Object.keys(r)).toStrictEqual(Object.keys((object['resources'] as object[])[i]!)));
    return 'fast';
  };
  /** The property, over generated messages and a truncation of each; both outcomes must be reached, so it is not vacuous. */
  const checkProperty = (message: fc.Arbitrary<Record<string, unknown>>, numRuns: number): void => {
    const outcomes = new Set<string>();
    fc.assert(fc.property(message, (m) => void outcomes.add(expectAgreement(encode(m)))), { numRuns, seed: 7 });
    expect([...outcomes].sort()).toStrictEqual(['fast', 'general']);
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const bytes = encode(m);
        expectAgreement(bytes.subarray(0, bytes.length === 0 ? 0 : cut % bytes.length));
      }),
      { numRuns, seed: 11 },
    );
  };
  return { encode, general, expectAgreement, checkProperty };
}
