import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LIMITS, RouteConfigurationResource, ValidationError, type RouteConfiguration } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { request } from './builders.js';

/**
 * Bad input, routing side: regexes are RE2 (linear time, no backtracking), so patterns that take
 * exponential time in a backtracking engine complete on long input with the right answer;
 * PCRE-only constructs are refused at validation with the exact field path; and config at the
 * size limits of xds-client's Limits.ts still compiles and matches. Config goes through the real
 * decoder (RouteConfigurationResource.fromObject) and then RouteTable.compile, as a push would.
 */

function decode(virtualHosts: Record<string, unknown>[]): RouteConfiguration {
  return RouteConfigurationResource.fromObject({ name: 'rc', virtual_hosts: virtualHosts }).resource;
}

function table(routes: Record<string, unknown>[]): RouteTable {
  return RouteTable.compile(decode([{ name: 'vh', domains: ['*'], routes }]));
}

const timings: Record<string, number> = {};
function timed<T>(label: string, fn: () => T): T {
  const t0 = performance.now();
  const v = fn();
  timings[label] = +(performance.now() - t0).toFixed(2);
  return v;
}

describe('RE2: patterns that backtrack catastrophically elsewhere complete with the right answer', () => {
  const N = 100_000;

  it('(a+)+$ on a path of 100,000 "a"s then a mismatch (a backtracking engine takes ~2^N steps)', () => {
    const t = table([
      { match: { safe_regex: { regex: '/(a+)+$' } }, route: { cluster: 'evil' } },
      { match: { prefix: '/' }, route: { cluster: 'fallback' } },
    ]);
    expect(timed('(a+)+$ miss', () => pickedCluster(t, `/${'a'.repeat(N)}!`))).toBe('fallback');
    expect(timed('(a+)+$ hit', () => pickedCluster(t, `/${'a'.repeat(N)}`))).toBe('evil');
  });

  it('header matchers: (x+x+)+y, (a|aa)+$ and (.*a){12} against 60 KiB header values', () => {
    const long = 'x'.repeat(LIMITS.MAX_MATCH_STRING_BYTES - 1);
    const t = table([
      { match: { prefix: '/', headers: [{ name: 'x-a', safe_regex_match: { regex: '(x+x+)+y' } }] }, route: { cluster: 'xy' } },
      { match: { prefix: '/', headers: [{ name: 'x-b', string_match: { safe_regex: { regex: '(a|aa)+$' } } }] }, route: { cluster: 'a-or-aa' } },
      { match: { prefix: '/', headers: [{ name: 'x-c', safe_regex_match: { regex: '(.*a){12}' } }] }, route: { cluster: 'dot-star-a' } },
      { match: { prefix: '/' }, route: { cluster: 'fallback' } },
    ]);
    expect(timed('(x+x+)+y miss', () => pickedCluster(t, '/', { 'x-a': long }))).toBe('fallback');
    expect(pickedCluster(t, '/', { 'x-a': `${long.slice(1)}y` })).toBe('xy');
    expect(timed('(a|aa)+$ miss', () => pickedCluster(t, '/', { 'x-b': `${'a'.repeat(LIMITS.MAX_MATCH_STRING_BYTES - 1)}b` }))).toBe('fallback');
    expect(pickedCluster(t, '/', { 'x-b': 'a'.repeat(LIMITS.MAX_MATCH_STRING_BYTES) })).toBe('a-or-aa');
    expect(timed('(.*a){12} miss', () => pickedCluster(t, '/', { 'x-c': `${'a'.repeat(11)}${'b'.repeat(60_000)}` }))).toBe('fallback');
    expect(pickedCluster(t, '/', { 'x-c': 'ba'.repeat(12) })).toBe('dot-star-a');
  });

  it('regex_rewrite with a nested quantifier over a long path terminates and rewrites every match', () => {
    const t = table([{ match: { prefix: '/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex: '(a+)+b' }, substitution: 'X' } } }]);
    const m = t.match(request('/'))!;
    // 2 x 4,000: a path near the 8 KiB regex_rewrite applies to (PathRewriter's
    // MAX_REGEX_REWRITE_PATH_LENGTH); a 60 KiB one is refused (RegexRewriteBounds.test.ts).
    const n = 4_000;
    const out = timed('regex_rewrite (a+)+b', () => m.route.rewritePath(`/${'a'.repeat(n)}b/${'a'.repeat(n)}/ab?q=aab`));
    expect(out).toBe(`/X/${'a'.repeat(n)}/X?q=aab`);
    expect(() => m.route.rewritePath(`/${'a'.repeat(30_000)}b/${'a'.repeat(30_000)}/ab`)).toThrow(RangeError);
  });

  it('property: nested-quantifier patterns over long random a/b strings agree with a linear reference', () => {
    // (a|b)*a(a|b){k}: "the (k+1)-th character from the end is an a" — exponential for a DFA-less
    // backtracker on long mismatches, trivially checkable in JS by indexing.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 0, maxLength: 3000 }), (k, s) => {
        const t = table([
          { match: { prefix: '/', headers: [{ name: 'x-s', safe_regex_match: { regex: `(a|b)*a(a|b){${k}}` } }] }, route: { cluster: 'hit' } },
          { match: { prefix: '/' }, route: { cluster: 'miss' } },
        ]);
        const expected = s.length > k && s[s.length - k - 1] === 'a' ? 'hit' : 'miss';
        expect(pickedCluster(t, '/', { 'x-s': s })).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });
});

describe('PCRE-only constructs are refused at validation with the exact field path', () => {
  const cases: Array<[string, string]> = [
    ['backreference', '(a)\\1'],
    ['lookahead', 'a(?=b)'],
    ['negative lookahead', '(?!admin)/.*'],
    ['lookbehind', '(?<=/v1)/x'],
    ['possessive quantifier', 'a++'],
    ['atomic group', '(?>a+)b'],
    ['recursion', '(a(?R)?b)'],
  ];
  for (const [what, regex] of cases) {
    it(`${what}: ${regex}`, () => {
      const where: Array<[Record<string, unknown>, string]> = [
        [{ match: { safe_regex: { regex } }, route: { cluster: 'c' } }, 'virtual_hosts[0].routes[1].match.safe_regex.regex'],
        [{ match: { prefix: '/', headers: [{ name: 'x', safe_regex_match: { regex } }] }, route: { cluster: 'c' } }, 'virtual_hosts[0].routes[1].match.headers[0].safe_regex_match.regex'],
        [{ match: { prefix: '/', headers: [{ name: 'x', string_match: { safe_regex: { regex } } }] }, route: { cluster: 'c' } }, 'virtual_hosts[0].routes[1].match.headers[0].string_match.safe_regex.regex'],
        [{ match: { prefix: '/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex }, substitution: '/' } } }, 'virtual_hosts[0].routes[1].route.regex_rewrite.pattern.regex'],
      ];
      for (const [r, fieldPath] of where) {
        let error: unknown;
        try {
          decode([{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/ok' }, route: { cluster: 'c' } }, r] }]);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).fieldPath).toBe(fieldPath);
        expect((error as ValidationError).resourceName).toBe('rc');
        expect((error as ValidationError).reason).toMatch(/^invalid RE2 regex: /);
      }
    });
  }

  it('the compiler refuses them too when handed a model that skipped the decoder', () => {
    const rc = decode([{ name: 'vh', domains: ['*'], routes: [{ match: { safe_regex: { regex: '/x' } }, route: { cluster: 'c' } }] }]);
    const bad = structuredClone(rc) as unknown as { virtual_hosts: Array<{ routes: Array<{ match: { safe_regex: { regex: string } } }> }> };
    bad.virtual_hosts[0]!.routes[0]!.match.safe_regex.regex = '(a)\\1';
    expect(() => RouteTable.compile(bad as unknown as RouteConfiguration)).toThrow(ValidationError);
  });
});

describe('config at the limits still compiles and matches', () => {
  it('a header matcher as long as MAX_MATCH_STRING_BYTES and a regex as long as MAX_REGEX_BYTES', () => {
    const value = 'v'.repeat(LIMITS.MAX_MATCH_STRING_BYTES);
    const regex = `/${'[a-z]'.repeat(Math.floor((LIMITS.MAX_REGEX_BYTES - 1) / 5) - 1)}`; // many small classes, < 8 KiB source
    const t = table([
      { match: { prefix: '/', headers: [{ name: 'x-big', exact_match: value }] }, route: { cluster: 'big-header' } },
      { match: { safe_regex: { regex } }, route: { cluster: 'big-regex' } },
      { match: { prefix: '/' }, route: { cluster: 'fallback' } },
    ]);
    expect(pickedCluster(t, '/', { 'x-big': value })).toBe('big-header');
    expect(pickedCluster(t, '/', { 'x-big': value.slice(1) })).toBe('fallback');
    const n = Math.floor((LIMITS.MAX_REGEX_BYTES - 1) / 5) - 1;
    expect(pickedCluster(t, `/${'q'.repeat(n)}`)).toBe('big-regex');
    expect(pickedCluster(t, `/${'q'.repeat(n - 1)}`)).toBe('fallback');
  });

  it('header mutation values with CR, LF or NUL never compile (property), other values do', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (value) => {
        const rc = () => table([{ match: { prefix: '/' }, route: { cluster: 'c' }, request_headers_to_add: [{ header: { key: 'x-a', value } }] }]);
        if (/[\r\n\0]/.test(value)) {
          expect(rc).toThrow(ValidationError);
          try {
            rc();
          } catch (e) {
            expect((e as ValidationError).message).toMatch(/request_headers_to_add\[0\]\.header\.value: header value must not contain CR, LF or NUL/);
          }
        } else expect(rc()).toBeInstanceOf(RouteTable);
      }),
      { numRuns: 300 },
    );
    console.log(`RELIABILITY ${JSON.stringify({ test: 'core routing: RE2 and limits', inputChars: 100_001, timingsMs: timings })}`);
  });
});

function pickedCluster(t: RouteTable, path: string, headers: Record<string, string> = {}): string | undefined {
  return t.match(request(path, { headers }))?.route.route.route?.cluster;
}
