import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiLower, regionEqualsIgnoreCase } from '../../src/routing/AsciiCase.js';

/** The definition: each A-Z code unit folded to a-z, every other code unit kept. */
function foldEach(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}

describe('asciiLower (Envoy folds ASCII only, as absl::AsciiStrToLower)', () => {
  it('folds A-Z and nothing else: Unicode letters whose toLowerCase differs stay as they are', () => {
    expect(asciiLower('Reviews.Default.SVC:9080')).toBe('reviews.default.svc:9080');
    expect(asciiLower('ÀÉÎ-İ-Σ-K')).toBe('ÀÉÎ-İ-Σ-k'); // the last is Latin K; U+212A KELVIN SIGN below stays
    expect(asciiLower('\u212A')).toBe('\u212A');
    expect(asciiLower('already/lower')).toBe('already/lower');
    expect(asciiLower('')).toBe('');
  });

  it('property: equals folding each code unit, for any string (lone surrogates included)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(asciiLower(s)).toBe(foldEach(s));
      }),
      { numRuns: 500 },
    );
  });

  it('property: a folded pattern matches its source region ignoring ASCII case', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, c) => {
        expect(regionEqualsIgnoreCase(a + b + c, a.length, asciiLower(b))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
