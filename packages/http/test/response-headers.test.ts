import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { util } from 'undici';
import { ResponseHeaders } from '../src/ResponseHeaders.js';

// Header names from a small alphabet so that lists repeat names, in mixed case (as servers send them).
const NAMES = ['content-type', 'x-envoy-overloaded', 'grpc-status', 'set-cookie', 'x-a', 'x-b', 'ab', 'ba'];
const mixedCase = (name: string) => fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((up) => [...name].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
const latin1Value = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 12 });
const rawList = fc
  .array(fc.tuple(fc.constantFrom(...NAMES).chain(mixedCase), latin1Value), { maxLength: 10 })
  .map((pairs) => pairs.flatMap(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v, 'latin1')]));

describe('ResponseHeaders over a raw header list', () => {
  it('answers get/has/repeatedValues from the raw list exactly as from the parsed object (property)', () => {
    fc.assert(
      fc.property(rawList, (raw) => {
        const lazy = new ResponseHeaders(undefined, raw);
        const parsed = new ResponseHeaders(util.parseHeaders(raw));
        for (const name of [...NAMES, 'absent']) {
          expect(lazy.get(name)).toBe(parsed.get(name));
          // A name sent more than once gives its entries (header matchers test each, Envoy 1.39).
          expect(lazy.repeatedValues(name)).toEqual(parsed.repeatedValues(name));
          expect(lazy.has(name.toUpperCase())).toBe(parsed.has(name.toUpperCase()));
        }
        expect(lazy.headers).toEqual(util.parseHeaders(raw));
      }),
      { numRuns: 500 },
    );
  });

  it('parses once mutated, and the mutation shows in the object form', () => {
    const raw = [Buffer.from('Content-Type'), Buffer.from('text/plain'), Buffer.from('X-A'), Buffer.from('1'), Buffer.from('x-a'), Buffer.from('2')];
    const h = new ResponseHeaders(undefined, raw);
    expect(h.get('x-a')).toBe('1,2');
    h.set('X-Added', 'yes');
    h.append('x-a', '3');
    h.delete('content-type');
    expect(h.headers).toEqual({ 'x-a': ['1', '2', '3'], 'x-added': 'yes' });
    expect(h.get('x-a')).toBe('1,2,3');
    // The raw list the upstream sent is not changed.
    expect(raw.map(String)).toEqual(['Content-Type', 'text/plain', 'X-A', '1', 'x-a', '2']);
  });

  it('copies a given object on the first mutation, not before', () => {
    const given = { 'content-type': 'text/plain' };
    const h = new ResponseHeaders(given);
    expect(h.headers).toBe(given);
    h.set('x-b', '1');
    expect(given).toEqual({ 'content-type': 'text/plain' });
    expect(h.headers).toEqual({ 'content-type': 'text/plain', 'x-b': '1' });
  });
});
