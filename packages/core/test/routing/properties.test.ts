import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { HeaderMatcher, RouteMatch } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { request, route, routeConfig, vhost } from './builders.js';

// Paths as clients send them: '/' then URL-ish characters, with an optional query.
const pathChar = fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=:@/%?#'.split(''));
const path = fc.array(pathChar, { maxLength: 40 }).map((cs) => `/${cs.join('')}`);
const anyString = fc.string({ maxLength: 40, unit: 'binary' });
const regexSource = fc.oneof(
  fc.constantFrom('.*', '/v[0-9]+/.*', '(a|b)*c', '[^/]+', '(?i)abc', '\\d{3}', 'x*', '', '(a*)*b', '(.*)(.*)(.*)'),
  fc.string({ maxLength: 12, unit: fc.constantFrom(...'ab()[]*+?|.^$\\{}0-9/'.split('')) }),
);

function compileOrNull(match: Partial<RouteMatch>, action: object = { cluster: 'c' }): RouteTable | null {
  try {
    return RouteTable.compile(routeConfig([vhost('v', ['*'], [route(match, action)])]));
  } catch (e) {
    // The only acceptable failure is a ValidationError (e.g. RE2 rejects the pattern).
    expect(e).toBeInstanceOf(ValidationError);
    return null;
  }
}

describe('property: matching never throws and agrees with a reference', () => {
  it('prefix / path / path_separated_prefix agree with a simple model', () => {
    fc.assert(
      fc.property(path, path, fc.boolean(), (reqPath, rule, caseSensitive) => {
        const clean = rule.replace(/[?#].*$/, '');
        const pathPart = reqPath.replace(/[?#].*$/, '');
        const fold = (s: string) => (caseSensitive ? s : s.replace(/[A-Z]/g, (c) => c.toLowerCase()));
        const prefix = compileOrNull({ prefix: clean, case_sensitive: caseSensitive })!;
        expect(prefix.match(request(reqPath)) !== undefined).toBe(fold(pathPart).startsWith(fold(clean)));
        const exact = compileOrNull({ path: clean, case_sensitive: caseSensitive })!;
        expect(exact.match(request(reqPath)) !== undefined).toBe(fold(pathPart) === fold(clean));
        if (clean.length > 1 && !clean.endsWith('/')) {
          const sep = compileOrNull({ path_separated_prefix: clean, case_sensitive: caseSensitive })!;
          const expected = fold(pathPart) === fold(clean) || fold(pathPart).startsWith(`${fold(clean)}/`);
          expect(sep.match(request(reqPath)) !== undefined).toBe(expected);
        }
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('safe_regex either compiles or throws ValidationError, and matching any path terminates without throwing', () => {
    fc.assert(
      fc.property(regexSource, fc.array(path, { minLength: 1, maxLength: 5 }), (regex, paths) => {
        const t = compileOrNull({ safe_regex: { regex } });
        if (t === null) return;
        for (const p of paths) t.match(request(p));
      }),
      { numRuns: 300, seed: 2 },
    );
  });

  it('a full-match regex agrees with a JS anchored regex on simple patterns', () => {
    const simple = fc.constantFrom('/a.*', '/[0-9]+', '/(foo|bar)/x', '/a?b', '.*z');
    fc.assert(
      fc.property(simple, path, (regex, p) => {
        const t = compileOrNull({ safe_regex: { regex } })!;
        const pathPart = p.replace(/[?#].*$/, '');
        expect(t.match(request(p)) !== undefined).toBe(new RegExp(`^(?:${regex})$`).test(pathPart));
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it('header matchers never throw on arbitrary header values', () => {
    const matcher = fc.oneof(
      anyString.map((v) => ({ exact_match: v })),
      anyString.filter((s) => s !== '').map((v) => ({ prefix_match: v })),
      anyString.filter((s) => s !== '').map((v) => ({ contains_match: v })),
      regexSource.map((regex) => ({ safe_regex_match: { regex } })),
      fc.record({ start: fc.integer({ min: -1000, max: 0 }), end: fc.integer({ min: 1, max: 1000 }) }).map((range_match) => ({ range_match })),
      fc.boolean().map((present_match) => ({ present_match })),
      fc.record({ prefix: anyString, ignore_case: fc.boolean() }).map((string_match) => ({ string_match })),
    );
    fc.assert(
      fc.property(matcher, fc.boolean(), fc.boolean(), fc.option(anyString, { nil: undefined }), (m, invert, missingEmpty, value) => {
        const hm = { name: 'x-h', invert_match: invert, treat_missing_header_as_empty: missingEmpty, ...m } as HeaderMatcher;
        const t = compileOrNull({ prefix: '/', headers: [hm] });
        if (t === null) return;
        const r = t.match(request('/', { headers: value === undefined ? {} : { 'x-h': value } }));
        expect(r === undefined || r.route.action === 'route').toBe(true);
      }),
      { numRuns: 400, seed: 4 },
    );
  });

  it('query parameter parsing never throws on arbitrary query strings', () => {
    fc.assert(
      fc.property(anyString, fc.string({ minLength: 1, maxLength: 5 }), (query, name) => {
        const t = compileOrNull({ prefix: '/', query_parameters: [{ name, present_match: true }] })!;
        t.match(request(`/p?${query}`));
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});

describe('property: rewrites always produce a valid path', () => {
  const invalid = /[\0\r\n]/;
  it('prefix_rewrite: starts with "/", keeps the query, adds no CR/LF/NUL', () => {
    const rewrite = fc.array(fc.constantFrom(...'abc/-_.~%'.split('')), { maxLength: 10 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(path, rewrite, (p, prefixRewrite) => {
        const t = compileOrNull({ prefix: '/' }, { cluster: 'c', prefix_rewrite: prefixRewrite })!;
        const out = t.virtualHosts[0]!.routes[0]!.rewritePath(p);
        expect(out.startsWith('/')).toBe(true);
        expect(invalid.test(out)).toBe(false);
        const q = p.search(/[?#]/);
        if (q >= 0) expect(out.endsWith(p.slice(q))).toBe(true);
      }),
      { numRuns: 300, seed: 6 },
    );
  });

  it('regex_rewrite: terminates, starts with "/", keeps the query', () => {
    const substitution = fc.array(fc.constantFrom('a', '/', '\\0', '\\1', '\\\\', '-'), { maxLength: 6 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(regexSource, substitution, path, (regex, sub, p) => {
        const t = compileOrNull({ prefix: '/' }, { cluster: 'c', regex_rewrite: { pattern: { regex }, substitution: sub } });
        if (t === null) return;
        const out = t.virtualHosts[0]!.routes[0]!.rewritePath(p);
        expect(out.startsWith('/')).toBe(true);
        expect(invalid.test(out)).toBe(false);
        const q = p.search(/[?#]/);
        if (q >= 0) expect(out.endsWith(p.slice(q))).toBe(true);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
