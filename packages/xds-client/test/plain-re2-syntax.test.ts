import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRe2, re2Problem } from '../src/resources/common/Re2.js';
import { isPlainRe2 } from '../src/resources/common/PlainRe2Syntax.js';
import { plainPatternGrammar } from './helpers/plainPatterns.js';

// isPlainRe2 lets a route regex be validated without loading re2-wasm. It may decline any pattern
// (re2-wasm then decides), but must never accept one RE2 rejects: that would ACK a config Envoy NACKs.

const compiles = (p: string): boolean => {
  try {
    checkRe2(p, 'u');
    return true;
  } catch {
    return false;
  }
};

describe('isPlainRe2', () => {
  it('accepts the regexes of typical route config', () => {
    const typical = [
      '/api/v[0-9]+/items/[0-9]+',
      '[a-z]+-[0-9]+',
      '^/v[12]/.*$',
      '.*\\.png',
      '/api/v\\d+/(users|orders)/[0-9]+(\\.json)?',
      '\\d{3}-\\d{4}',
      '(?:GET|POST)',
      '[^/]+/reviews/[-_a-zA-Z0-9]*',
      'a{2,}b{0,3}?c*?',
      '\\bword\\b',
    ];
    for (const p of typical) {
      expect(isPlainRe2(p), p).toBe(true);
      expect(compiles(p), p).toBe(true);
    }
  });

  it('declines what RE2 rejects, and what it does not know', () => {
    const rejected = ['(', ')', 'a**', 'a+*', '*a', '[z-a]', 'a{1001}', '(a{100}){11}', '((a{10}){10}){11}', '\\1', '\\q', 'a\\', '[a', '(?P<n>a', 'a{2}{3}'];
    for (const p of rejected) {
      expect(isPlainRe2(p), p).toBe(false);
      expect(re2Problem(p), p).not.toBe('');
    }
    // Valid RE2 outside the subset: decided by re2-wasm.
    for (const p of ['^*', '(?i)abc', '(?P<name>a)', '[[:alpha:]]', 'a|', '()', '\\pL', 'é', '[]a]', '\\x41', '']) {
      expect(isPlainRe2(p), p).toBe(false);
      if (p !== '') expect(re2Problem(p), p).toBe('');
    }
    // At RE2's limits: exactly 1000 accepted, one more declined (and rejected by RE2).
    expect(isPlainRe2('(a{10}){100}')).toBe(true);
    expect(compiles('(a{10}){100}')).toBe(true);
    expect(isPlainRe2('(a{10}){101}')).toBe(false);
    expect(compiles('(a{10}){101}')).toBe(false);
  });

  it('property: every pattern it accepts compiles in re2-wasm (random text, 4,000 runs; grammar-built, 2,000 runs)', () => {
    const unit = fc.constantFrom(...'ab0-9()[]{}|*+?.^$\\/,:dwsbBDSW^- '.split(''));
    let accepted = 0;
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 14 }), (p) => {
        if (!isPlainRe2(p)) return;
        accepted++;
        expect(compiles(p), p).toBe(true);
      }),
      { numRuns: 4000, seed: 21 },
    );
    // Built from the subset's own pieces, with repeat counts mostly small, some past RE2's limits.
    const small = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 12 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 1100 }) });
    const atom = fc.oneof(
      fc.constantFrom('a', 'b', '.', '\\d', '\\W', '\\.', '[a-c]', '[^x-z_]', '[-a]', '[a-]', '[\\d.]', '^', '$', '\\b'),
    );
    const count = fc.oneof(fc.constantFrom('', '*', '+', '?', '*?'), fc.tuple(small, fc.option(small)).map(([n, m]) => (m === null ? `{${n}}` : `{${n},${m}}`)));
    const piece = fc.tuple(atom, count).map(([a, q]) => a + q);
    const pattern = plainPatternGrammar(piece, count);
    let built = 0;
    fc.assert(
      fc.property(pattern, (p) => {
        if (!isPlainRe2(p)) return;
        built++;
        expect(compiles(p), p).toBe(true);
      }),
      { numRuns: 2000, seed: 22 },
    );
    expect(accepted).toBeGreaterThan(100);
    expect(built).toBeGreaterThan(300);
  });
});
