import { describe, expect, it } from 'vitest';
import { newRequestId } from '../../src/call/RequestId.js';

describe('newRequestId', () => {
  it('makes RFC 4122 version 4 UUIDs, all distinct, with the random nibbles evenly spread (±20% per hex digit)', () => {
    const ids = Array.from({ length: 20_000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Digits from a fully random position (the last 12): each of 16 values expected 20,000 * 12 / 16 = 15,000 times.
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(24)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(Math.abs(n - 15_000)).toBeLessThan(3_000);
  });
});
