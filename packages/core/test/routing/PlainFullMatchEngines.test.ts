import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPlainRe2, loadRe2 } from '@meshlet/xds-client';
import { plainPatternGrammar } from '../../../xds-client/test/helpers/plainPatterns.js';
import { compileFullMatch } from '../../src/routing/Re2Pattern.js';

// A plain-subset route regex is full-matched by re2js (Re2Pattern.ts's CompiledOnFirstTest); every
// other regex, and any text with an unpaired surrogate, by re2-wasm (Re2PatternCompile.test.ts: re2js
// reads an unpaired surrogate as one character, re2-wasm joins it with the next code unit). This
// checks that on generated plain patterns x well-formed inputs the answers are re2-wasm's: `.` against `\n`, `\s` against `\v` and the
// other spaces, `\b`/`\B`, Perl and bracket classes (negated ones against non-ASCII and astral
// characters), counted repeats, lazy repeats, empty alternatives' neighbours, anchors in the middle.

const small = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }) });
const atom = fc.constantFrom(
  'a', 'b', 'A', 'k', 's', '0', '/', '-', '_', ' ', '.',
  '\\d', '\\D', '\\w', '\\W', '\\s', '\\S', '\\.', '\\/', '\\-',
  '[a-c]', '[^x-z_]', '[-a]', '[a-]', '[\\d.]', '[^\\s]', '[\\W]', '[^\\D]', '[A-Z]', '[^a-zA-Z0-9]',
  '^', '$', '\\b', '\\B',
);
const count = fc.oneof(
  fc.constantFrom('', '', '', '*', '+', '?', '*?', '+?', '??'),
  fc.tuple(small, fc.option(small)).map(([n, m]) => (m === null ? `{${n}}` : `{${n},${Math.max(n, m)}}`)),
  small.map((n) => `{${n},}`),
);
const piece = fc.tuple(atom, count).map(([a, q]) => a + q);
const pattern = plainPatternGrammar(piece, count, true);
const char = fc.constantFrom(
  'a', 'b', 'c', 'A', 'K', 'k', 's', 'S', 'z', '_', '0', '9', '.', '-', '/', ' ',
  '\n', '\t', '\v', '\f', '\r', '\0', '\u0085', '\u00a0', '\u2028', '\u3000',
  '\u017f', '\u212a', 'é', 'É', 'α', '€', '\u{1F600}', '\u{10FFFF}',
);
const input = fc.string({ unit: char, maxLength: 12 });

/** Inputs made of the pattern's own characters, which match more often than random ones. */
function ownCharacterInputs(p: string): string[] {
  const chars = [...p.replace(/[\\^$|(){}*+?[\]]/g, '')];
  const out: string[] = [];
  for (let k = 0; k < 16; k++) {
    let s = '';
    for (let j = 0; j < (k * 7) % 13; j++) s += chars[(j * 31 + k * 17) % Math.max(chars.length, 1)] ?? 'a';
    out.push(s);
  }
  return out;
}

function wasmFullMatch(p: string): { test(s: string): boolean; free(): void } {
  const re = new (loadRe2())(`^(?:${p})$`, 'u');
  return { test: (s) => re.test(s), free: () => (re as unknown as { wrapper: { delete(): void } }).wrapper.delete() };
}

describe('plain-subset full match: re2js against re2-wasm', () => {
  it('gives re2-wasm\'s answer on generated plain patterns x inputs', () => {
    let plain = 0;
    let matched = 0;
    fc.assert(
      fc.property(pattern, fc.array(input, { minLength: 1, maxLength: 24 }), (p, inputs) => {
        if (!isPlainRe2(p)) return;
        plain++;
        const ours = compileFullMatch(p, 'routes[0].match.safe_regex.regex');
        const wasm = wasmFullMatch(p);
        try {
          for (const s of [...inputs, ...ownCharacterInputs(p)]) {
            const want = wasm.test(s);
            if (want) matched++;
            expect(ours.test(s), `${JSON.stringify(p)} on ${JSON.stringify(s)}`).toBe(want);
          }
        } finally {
          wasm.free();
        }
      }),
      { numRuns: 1500, seed: 20261205 },
    );
    // The generator must keep producing plain patterns that match something.
    expect(plain).toBeGreaterThan(150);
    expect(matched).toBeGreaterThan(250);
  });

  it('agrees on route-shaped patterns and long inputs', () => {
    const cases: [string, string[]][] = [
      ['/api/v[0-9]+/items/[0-9]+', ['/api/v1/items/7', '/api/v12/items/', '/api/v1/items/7/', '/api/v1/items/7\n', `/api/v1/items/${'7'.repeat(5000)}`]],
      ['/static/.*', ['/static/a\nb', '/static/', `/static/${'é😀'.repeat(2000)}`]],
      ['[^/]+/\\w{2,4}\\b.*', ['ab/cd', 'ab/cdé', 'ab/cdefg', 'ab/cd-e', 'ab/c']],
      ['(\\s|\\S)*', ['\v\f\r\t \n', '\u0085', '']],
      ['(a|ab)(c|bcd)(d*)', ['abcd', 'abcdd', 'ac']],
    ];
    for (const [p, inputs] of cases) {
      const ours = compileFullMatch(p, 'x');
      const wasm = wasmFullMatch(p);
      try {
        for (const s of inputs) expect(ours.test(s), `${p} on ${JSON.stringify(s.slice(0, 40))}`).toBe(wasm.test(s));
      } finally {
        wasm.free();
      }
    }
  });
});
