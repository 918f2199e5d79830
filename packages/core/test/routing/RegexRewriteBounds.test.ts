import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RouteAction } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { MAX_REGEX_REWRITE_PATH_LENGTH } from '../../src/routing/PathRewriter.js';
import { MAX_RE2_REPLACE_SEARCHES } from '../../src/routing/Re2GlobalReplace.js';
import { route, routeConfig, vhost } from './builders.js';

// regex_rewrite on long paths (PathRewriter.ts, Re2GlobalReplace.ts): each search after the first is handed the rest
// of the path from one character back, and one rewrite is bounded in path length and searches.
// These tests check that the results are RE2::GlobalReplace's on the whole path, for patterns
// that look at the text before a match, and that a rewrite over a bound fails the request.

function rewriterFor(regex: string, substitution: string) {
  const action: Partial<RouteAction> = { cluster: 'c', regex_rewrite: { pattern: { regex }, substitution } };
  const table = RouteTable.compile(routeConfig([vhost('v', ['*'], [route({ prefix: '/' }, action)])]));
  return table.virtualHosts[0]!.routes[0]!;
}

/**
 * RE2::GlobalReplace as re2.cc does it (an empty match right where the previous match ended is
 * skipped, one character, a surrogate pair whole, copied instead), each search over the whole text,
 * with a JavaScript RegExp written to match as the RE2 pattern does on these paths: an oracle that
 * shares neither re2-wasm nor PathRewriter's way of resuming. V8 tries an empty match (\B) between
 * the halves of a surrogate pair even with the u flag; RE2, on UTF-8, cannot: such a match is passed over.
 */
function globalReplace(source: string, flags: string, substitution: string, text: string): string {
  const re = new RegExp(source, `g${flags}`);
  let out = '';
  let p = 0;
  let lastEnd = -1;
  while (p <= text.length) {
    re.lastIndex = p;
    let m = re.exec(text);
    while (m !== null && m.index > 0 && text.codePointAt(m.index - 1)! > 0xffff) {
      re.lastIndex = m.index + 1;
      m = re.exec(text);
    }
    if (m === null) break;
    const start = m.index;
    const stop = start + m[0].length;
    out += text.slice(p, start);
    if (start === stop && start === lastEnd) {
      if (start >= text.length) {
        p = text.length;
        break;
      }
      const step = text.codePointAt(start)! > 0xffff ? 2 : 1;
      out += text.slice(start, start + step);
      p = start + step;
      continue;
    }
    out += substitution.replace(/\\(\d)/g, (_all, n: string) => m[Number(n)] ?? '');
    p = stop;
    lastEnd = stop;
  }
  const result = out + text.slice(p);
  return result.startsWith('/') ? result : `/${result}`;
}

describe('regex_rewrite searches from one character back', () => {
  it.each<[string, string, string, string, string]>([
    ['\\b only where the character before is not a word character', '\\bab', 'X', '/ab/cab/ab', '/X/cab/X'],
    ['\\B only inside a word', '\\Bb', 'X', '/b/ab/bb', '/b/aX/bX'],
    ['^ only at the start of the path', '^/|a', '-', '/a/a', '/--/-'],
    ['(?m)^ after a newline only', '(?m)^a', 'X', '/a\na/a', '/a\nX/a'],
    ['\\A only at the start', '\\A/|b', '', '/bb/b', '/'],
    ['surrogate pairs: indices are UTF-16 offsets, pairs kept whole', '\\b.', '<\\0>', '/😀a😀b', '/😀<a><😀><b>'],
    // RE2::GlobalReplace skips an empty match right after a match (JavaScript's replace does not: -/-a--).
    ['no empty match right after a match', 'b*', '-', '/ab', '/-/-a-'],
    ['empty matches around surrogate pairs', 'x*', '-', '/😀a', '/-/-😀-a-'],
  ])('%s', (_l, regex, substitution, path, expected) => {
    expect(rewriterFor(regex, substitution).rewritePath(path)).toBe(expected);
  });

  it('refuses a path with an unpaired surrogate (re2-wasm miscounts around one)', () => {
    expect(() => rewriterFor('a', 'b').rewritePath('/\ud83dxa')).toThrow(/regex_rewrite: the input has an unpaired UTF-16 surrogate/);
  });

  it('gives RE2::GlobalReplace on the whole path for patterns that look behind their match (property)', () => {
    // [RE2 pattern, the JavaScript RegExp that matches the same on these paths, its flags]
    const patterns: [string, string, string][] = [
      // Not a bare \\B: RE2 (bytes of UTF-8) finds it between the bytes of a non-ASCII character,
      // which re2-wasm reports at the next character; JavaScript does not. \\B before a character is here.
      ['\\b', '\\b', 'u'], ['\\B/', '\\B/', 'u'], ['^', '^', 'u'], ['\\A', '^', 'u'], ['(?m)^', '^', 'mu'], ['$', '$', 'u'],
      ['a', 'a', 'u'], ['b*', 'b*', 'u'], ['/+', '/+', 'u'], ['\\ba\\w*', '\\ba\\w*', 'u'], ['\\Ba', '\\Ba', 'u'],
      ['(?:^|/)a', '(?:^|/)a', 'u'], ['.', '.', 'u'], ['a|^b', 'a|^b', 'u'], ['[^/]+', '[^/]+', 'u'], ['😀|b', '😀|b', 'u'], ['(a)|(b)', '(a)|(b)', 'u'],
    ];
    const substitutions = ['-', '<\\0>', '', '\\0\\0', '[\\1\\2]'];
    const text = fc.array(fc.constantFrom('/', 'a', 'b', '\n', '😀', '-'), { maxLength: 30 }).map((cs) => `/${cs.join('')}`);
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.constantFrom(...substitutions), text, ([regex, source, flags], substitution, path) => {
        expect(rewriterFor(regex, substitution).rewritePath(path)).toBe(globalReplace(source, flags, substitution, path));
      }),
      { numRuns: 500 },
    );
  });
});

describe('regex_rewrite bounds', () => {
  it(`rewrites a path part of ${MAX_REGEX_REWRITE_PATH_LENGTH} characters and refuses a longer one, naming the field`, () => {
    const r = rewriterFor('^/(.*)/(.*)/(.*)$', '/\\3/\\2/\\1');
    const atLimit = `/${'a'.repeat(4000)}/${'b'.repeat(4000)}/${'c'.repeat(MAX_REGEX_REWRITE_PATH_LENGTH - 8003)}`;
    expect(atLimit).toHaveLength(MAX_REGEX_REWRITE_PATH_LENGTH);
    expect(r.rewritePath(atLimit)).toBe(`/${'c'.repeat(MAX_REGEX_REWRITE_PATH_LENGTH - 8003)}/${'b'.repeat(4000)}/${'a'.repeat(4000)}`);
    // The query is not rewritten and does not count.
    expect(r.rewritePath(`${atLimit}?${'q'.repeat(20_000)}`)).toMatch(/^\/c+\/b+\/a+\?q{20000}$/);
    expect(() => r.rewritePath(`${atLimit}x`)).toThrow(
      new RangeError(`virtual_hosts[0].routes[0].route.regex_rewrite: the path is ${MAX_REGEX_REWRITE_PATH_LENGTH + 1} characters before its query, over the ${MAX_REGEX_REWRITE_PATH_LENGTH} regex_rewrite is applied to`),
    );
  });

  it(`makes at most ${MAX_RE2_REPLACE_SEARCHES} searches: every match replaced, or the request refused`, () => {
    const r = rewriterFor('/+', '/');
    // n matches take n + 1 searches (the last finds none).
    const fits = '//a'.repeat(MAX_RE2_REPLACE_SEARCHES - 1);
    expect(r.rewritePath(fits)).toBe('/a'.repeat(MAX_RE2_REPLACE_SEARCHES - 1));
    expect(() => r.rewritePath(`${fits}//a`)).toThrow(/regex_rewrite: the pattern needs more than 128 RE2 searches \(about one per match\) on this input/);
    // A path without many matches is not limited by its length below the path bound.
    expect(rewriterFor('^/api/(.*)$', '/\\1').rewritePath(`/api/${'x'.repeat(8000)}`)).toBe(`/${'x'.repeat(8000)}`);
  });
});
