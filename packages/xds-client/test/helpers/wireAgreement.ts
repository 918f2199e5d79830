import { expect } from 'vitest';
import fc from 'fast-check';
import { decodeAny, encodeAny, type AnyMessage } from '../../src/proto/EnvoyProtos.js';
import type { ResourceType } from '../../src/resources/ResourceType.js';
import { FREEZE_MODELS } from '../../src/resources/DeepFreeze.js';

type Outcome = { ok: true; resource: unknown } | { ok: false; message: string };

/** Objects reachable from `value` that are not frozen (paths), for the deep-freeze contract. */
function unfrozenPaths(value: unknown, path = '', out: string[] = []): string[] {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return out;
  if (!Object.isFrozen(value)) out.push(path || '(root)');
  for (const [k, v] of Object.entries(value)) unfrozenPaths(v, `${path}.${k}`, out);
  return out;
}

/**
 * The contract of a one-pass wire decoder (ClusterLoadAssignmentWire, ClusterWire,
 * RouteConfigurationWire) against the
 * general path of its resource type: for any bytes, the fast path gives the general path's model
 * (same keys in the same order, so both give objects of one shape), or nothing; and the
 * resource type, which tries the fast path first, gives the same model or the same rejection.
 */
export function wireAgreement<T>(type: ResourceType<T>, fast: (bytes: Uint8Array) => T | undefined) {
  /** The general path alone: protobufjs decode, toObject, validate. */
  const general = (any: AnyMessage): Outcome => {
    try {
      const obj = decodeAny(any);
      if (!obj) return { ok: false, message: 'undecodable' };
      return { ok: true, resource: type.fromObject(obj).resource };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  };
  const expectAgreement = (any: AnyMessage): 'fast' | 'general' | 'rejected' => {
    const g = general(any);
    const model = fast(any.value);
    if (model !== undefined) {
      expect(g.ok).toBe(true);
      const resource = (g as { resource: object }).resource;
      expect(model).toStrictEqual(resource);
      expect(Object.keys(model as object)).toStrictEqual(Object.keys(resource));
      // Deep-frozen as the general path's model is (tests run outside production), whether the
      // fast path froze it as it built it or the resource type's freezeModel walks it.
      if (FREEZE_MODELS) expect(unfrozenPaths(type.decode(any).resource)).toStrictEqual([]);
    }
    let viaType: Outcome;
    try {
      viaType = { ok: true, resource: type.decode(any).resource };
    } catch (err) {
      viaType = { ok: false, message: (err as Error).message };
    }
    if (g.ok) expect(viaType).toStrictEqual(g);
    else {
      // The same message; a wire error gets the resource type's "malformed <type>: " prefix.
      expect(viaType.ok).toBe(false);
      expect((viaType as { message: string }).message).toContain(g.message);
    }
    return model !== undefined ? 'fast' : g.ok ? 'general' : 'rejected';
  };
  /** Invalid messages: the fast path declines each, and the resource type rejects it as the general path does. */
  const expectRejected = (typeName: string, messages: readonly Record<string, unknown>[]): void => {
    for (const m of messages) {
      const any = encodeAny(typeName, m);
      expect(fast(any.value)).toBeUndefined();
      expect(expectAgreement(any)).toBe('rejected');
    }
  };
  /**
   * The property, over generated messages of `typeName` and over a truncation of each: the two
   * paths agree. The generated messages must reach all three outcomes, so it is not vacuous.
   */
  const checkProperty = (typeName: string, message: fc.Arbitrary<Record<string, unknown>>, numRuns: number): void => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(message, (m) => {
        outcomes.add(expectAgreement(encodeAny(typeName, m)));
      }),
      { numRuns, seed: 7 },
    );
    expect([...outcomes].sort()).toStrictEqual(['fast', 'general', 'rejected']);
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const any = encodeAny(typeName, m);
        const n = any.value.length === 0 ? 0 : cut % any.value.length;
        expectAgreement({ type_url: any.type_url, value: any.value.subarray(0, n) });
      }),
      { numRuns, seed: 11 },
    );
  };
  return { general, expectAgreement, expectRejected, checkProperty };
}
