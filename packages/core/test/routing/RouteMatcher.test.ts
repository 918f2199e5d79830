import { describe, expect, it } from 'vitest';
import type { HeaderMatcher, RouteMatch } from '@meshlet/xds-client';
import fc from 'fast-check';
import { CompiledHeaderMatcher, RouteTable, type HeaderLookup, type RequestView } from '../../src/routing/index.js';
import { request, route, routeConfig, vhost } from './builders.js';

type Req = Parameters<typeof request>[1] & { path: string };

/** Whether a single route with `match` matches `req`. */
function matches(match: Partial<RouteMatch>, req: Req, random?: () => number): boolean {
  const t = RouteTable.compile(routeConfig([vhost('v', ['*'], [route(match)])]));
  return t.match(request(req.path, req), random) !== undefined;
}

describe('path specifiers', () => {
  it.each<[string, Partial<RouteMatch>, string, boolean]>([
    ['prefix', { prefix: '/api' }, '/api', true],
    ['prefix', { prefix: '/api' }, '/apis/x', true],
    ['prefix', { prefix: '/api' }, '/ap', false],
    ['prefix is case sensitive by default', { prefix: '/api' }, '/API', false],
    ['prefix case_sensitive false', { prefix: '/api', case_sensitive: false }, '/API/x', true],
    ['empty prefix matches everything', { prefix: '' }, '/anything', true],
    ['prefix ignores the query', { prefix: '/a?b' }, '/a?b=1', false],
    ['path exact', { path: '/exact' }, '/exact', true],
    ['path exact with query', { path: '/exact' }, '/exact?q=1', true],
    ['path exact with fragment', { path: '/exact' }, '/exact#frag', true],
    ['path exact longer', { path: '/exact' }, '/exact/', false],
    ['path case_sensitive false', { path: '/Exact', case_sensitive: false }, '/eXACT', true],
    ['path case sensitive', { path: '/Exact' }, '/exact', false],
    ['regex whole path', { safe_regex: { regex: '/v[0-9]+/.*' } }, '/v1/x', true],
    ['regex must match whole path', { safe_regex: { regex: '/v[0-9]+' } }, '/v1/x', false],
    ['regex not partial at start', { safe_regex: { regex: 'v1' } }, '/v1', false],
    ['regex without query', { safe_regex: { regex: '/search' } }, '/search?q=1', true],
    ['regex ignores case_sensitive', { safe_regex: { regex: '/abc' }, case_sensitive: false }, '/ABC', false],
    ['regex (?i)', { safe_regex: { regex: '(?i)/abc' } }, '/ABC', true],
    ['regex alternation stays anchored', { safe_regex: { regex: '/a|/b' } }, '/bx', false],
    ['path_separated_prefix equal', { path_separated_prefix: '/api' }, '/api', true],
    ['path_separated_prefix segment', { path_separated_prefix: '/api' }, '/api/v1', true],
    ['path_separated_prefix query', { path_separated_prefix: '/api' }, '/api?x', true],
    ['path_separated_prefix not a segment', { path_separated_prefix: '/api' }, '/apis', false],
    ['path_separated_prefix case folding', { path_separated_prefix: '/api', case_sensitive: false }, '/API/x', true],
    // Envoy's PGV does not require a leading '/': such a route is valid and never matches a path.
    ['path_separated_prefix without leading /', { path_separated_prefix: 'api' }, '/api', false],
  ])('%s: %j on %s -> %s', (_l, match, path, expected) => {
    expect(matches(match, { path })).toBe(expected);
  });

  it('connect_matcher matches CONNECT only', () => {
    expect(matches({ connect_matcher: true }, { path: '/', method: 'CONNECT' })).toBe(true);
    expect(matches({ connect_matcher: true }, { path: '/', method: 'GET' })).toBe(false);
  });
});

function hm(m: Partial<HeaderMatcher>): HeaderMatcher {
  return { name: 'x-h', invert_match: false, ...m } as HeaderMatcher;
}

describe('header matchers', () => {
  it.each<[string, Partial<HeaderMatcher>, string | undefined, boolean]>([
    ['exact', { exact_match: 'v' }, 'v', true],
    ['exact mismatch', { exact_match: 'v' }, 'V', false],
    ['exact absent', { exact_match: 'v' }, undefined, false],
    ['exact inverted', { exact_match: 'v', invert_match: true }, 'w', true],
    ['inverted does not match an absent header', { exact_match: 'v', invert_match: true }, undefined, false],
    ['treat_missing_header_as_empty + invert', { exact_match: 'v', invert_match: true, treat_missing_header_as_empty: true }, undefined, true],
    ['treat_missing_header_as_empty + regex ^$', { safe_regex_match: { regex: '' }, treat_missing_header_as_empty: true }, undefined, true],
    ['prefix', { prefix_match: 'ab' }, 'abc', true],
    ['prefix mismatch', { prefix_match: 'ab' }, 'xabc', false],
    ['suffix', { suffix_match: 'yz' }, 'xyz', true],
    ['contains', { contains_match: 'mid' }, 'amidb', true],
    ['contains mismatch', { contains_match: 'mid' }, 'amdb', false],
    ['regex whole value', { safe_regex_match: { regex: '\\d{3}' } }, '123', true],
    ['regex not partial', { safe_regex_match: { regex: '\\d{3}' } }, '1234', false],
    ['regex inverted (proto doc example)', { safe_regex_match: { regex: '\\d{3}' }, invert_match: true }, '1234', true],
    ['range inside', { range_match: { start: -10, end: 0 } }, '-1', true],
    ['range end exclusive', { range_match: { start: -10, end: 0 } }, '0', false],
    ['range start inclusive', { range_match: { start: -10, end: 0 } }, '-10', true],
    ['range non-integer', { range_match: { start: -10, end: 20 } }, '10.9', false],
    ['range trailing garbage', { range_match: { start: -10, end: 0 } }, '-1somestring', false],
    ['range empty', { range_match: { start: -10, end: 0 } }, '', false],
    ['range inverted (proto doc example)', { range_match: { start: -10, end: 0 }, invert_match: true }, '-1', false],
    ['present true, present', { present_match: true }, 'x', true],
    ['present true, empty value is present', { present_match: true }, '', true],
    ['present true, absent', { present_match: true }, undefined, false],
    ['present false, absent', { present_match: false }, undefined, true],
    ['present false, present', { present_match: false }, 'x', false],
    ['present true inverted, absent', { present_match: true, invert_match: true }, undefined, true],
    ['no specifier = present', {}, 'x', true],
    ['no specifier, absent', {}, undefined, false],
    ['string_match exact', { string_match: { exact: 'Abc' } }, 'Abc', true],
    ['string_match exact ignore_case', { string_match: { exact: 'Abc', ignore_case: true } }, 'aBC', true],
    ['string_match prefix ignore_case', { string_match: { prefix: 'AB', ignore_case: true } }, 'abz', true],
    ['string_match suffix ignore_case', { string_match: { suffix: 'YZ', ignore_case: true } }, 'xyz', true],
    ['string_match contains ignore_case', { string_match: { contains: 'MiD', ignore_case: true } }, 'amidb', true],
    ['string_match contains ignore_case mismatch', { string_match: { contains: 'MiD', ignore_case: true } }, 'amdb', false],
    ['string_match ignore_case is ASCII only', { string_match: { exact: 'straße', ignore_case: true } }, 'STRASSE', false],
    ['string_match regex ignores ignore_case', { string_match: { safe_regex: { regex: 'abc' }, ignore_case: true } }, 'ABC', false],
    ['string_match inverted', { string_match: { prefix: 'a' }, invert_match: true }, 'b', true],
  ])('%s', (_l, m, value, expected) => {
    const req: Req = { path: '/', headers: value === undefined ? {} : { 'x-h': value } };
    expect(matches({ prefix: '/', headers: [hm(m)] }, req)).toBe(expected);
  });

  it('header names are case-insensitive (config may use upper case)', () => {
    expect(matches({ prefix: '/', headers: [hm({ name: 'X-H', exact_match: 'v' })] }, { path: '/', headers: { 'x-h': 'v' } })).toBe(true);
  });

  it('reads pseudo-headers from the request view', () => {
    const req = { path: '/p?q=1', method: 'POST', authority: 'host:80', headers: { ':scheme': 'https' } };
    expect(matches({ prefix: '/', headers: [hm({ name: ':method', exact_match: 'POST' })] }, req)).toBe(true);
    expect(matches({ prefix: '/', headers: [hm({ name: ':authority', exact_match: 'host:80' })] }, req)).toBe(true);
    expect(matches({ prefix: '/', headers: [hm({ name: ':path', exact_match: '/p?q=1' })] }, req)).toBe(true);
    expect(matches({ prefix: '/', headers: [hm({ name: ':scheme', exact_match: 'https' })] }, req)).toBe(true);
  });

  it('all header matchers must match', () => {
    const m = { prefix: '/', headers: [hm({ name: 'a', exact_match: '1' }), hm({ name: 'b', exact_match: '2' })] };
    expect(matches(m, { path: '/', headers: { a: '1', b: '2' } })).toBe(true);
    expect(matches(m, { path: '/', headers: { a: '1', b: '3' } })).toBe(false);
  });

  it('a single header line with commas is one value', () => {
    expect(matches({ prefix: '/', headers: [hm({ exact_match: 'a,b' })] }, { path: '/', headers: { 'x-h': 'a,b' } })).toBe(true);
  });
});

/**
 * Envoy 1.39 (changelogs/1.39.0.yaml, runtime guard envoy.reloadable_features.match_headers_individually,
 * on by default): a header sent as several entries is matched entry by entry, not as their comma-joined
 * string; a single line with commas stays one value. A transport that keeps the entries apart says so
 * through HeaderLookup.repeatedValues; one that cannot (gRPC metadata, gRFC A28) gives the joined value.
 */
describe('header matchers on a header sent more than once', () => {
  /** A request whose x-h arrived as these separate entries. */
  function sentAs(entries: string[], withRepeated = true): RequestView {
    const joined = entries.join(',');
    const headers: HeaderLookup = withRepeated
      ? { get: (n) => (n === 'x-h' ? joined : undefined), repeatedValues: (n) => (n === 'x-h' ? entries : undefined) }
      : { get: (n) => (n === 'x-h' ? joined : undefined) };
    return { authority: 'svc', path: '/', method: 'GET', headers, isGrpc: false };
  }
  const compiled = (m: Partial<HeaderMatcher>) => new CompiledHeaderMatcher(hm(m), 'headers[0]');

  it.each<[string, Partial<HeaderMatcher>, boolean]>([
    ['exact: any entry', { exact_match: 'admin' }, true],
    ['exact: the joined string no longer matches', { exact_match: 'user,admin' }, false],
    ['exact inverted: an entry matched, so no', { exact_match: 'admin', invert_match: true }, false],
    ['exact inverted: no entry matched', { exact_match: 'root', invert_match: true }, true],
    ['prefix', { prefix_match: 'adm' }, true],
    ['suffix across the join does not match', { suffix_match: 'r,admin' }, false],
    ['regex on one entry', { safe_regex_match: { regex: 'us.r' } }, true],
    ['string_match', { string_match: { exact: 'ADMIN', ignore_case: true } }, true],
    ['present', { present_match: true }, true],
  ])('%s', (_l, m, expected) => {
    expect(compiled(m).matches(sentAs(['user', 'admin']))).toBe(expected);
  });

  it('range_match: each entry is an integer of its own', () => {
    expect(compiled({ range_match: { start: 0, end: 10 } }).matches(sentAs(['42', '7']))).toBe(true);
    expect(compiled({ range_match: { start: 0, end: 10 } }).matches(sentAs(['42', '17']))).toBe(false);
  });

  it('a transport without repeatedValues is matched on its joined value', () => {
    expect(compiled({ exact_match: 'user,admin' }).matches(sentAs(['user', 'admin'], false))).toBe(true);
    expect(compiled({ exact_match: 'admin' }).matches(sentAs(['user', 'admin'], false))).toBe(false);
  });

  it('property: exact_match on separate entries matches iff some entry equals it', () => {
    const entry = fc.constantFrom('a', 'b', 'a,b', '', 'c');
    fc.assert(
      fc.property(fc.array(entry, { minLength: 2, maxLength: 4 }), entry, fc.boolean(), (entries, want, invert) => {
        const got = compiled({ exact_match: want, invert_match: invert }).matches(sentAs(entries));
        expect(got).toBe(entries.includes(want) !== invert);
      }),
    );
  });
});

describe('query parameter matchers', () => {
  const q = (name: string, m: { string_match?: object; present_match?: boolean }) => ({ prefix: '/', query_parameters: [{ name, ...m }] }) as Partial<RouteMatch>;
  it.each<[string, Partial<RouteMatch>, string, boolean]>([
    ['exact', q('debug', { string_match: { exact: 'true' } }), '/?debug=true', true],
    ['exact mismatch', q('debug', { string_match: { exact: 'true' } }), '/?debug=false', false],
    ['absent', q('debug', { string_match: { exact: 'true' } }), '/', false],
    ['first value wins', q('a', { string_match: { exact: '1' } }), '/?a=1&a=2', true],
    ['first value wins (mismatch)', q('a', { string_match: { exact: '2' } }), '/?a=1&a=2', false],
    ['percent-decoded', q('name', { string_match: { exact: 'a b' } }), '/?name=a%20b', true],
    ['key without value is empty', q('flag', { string_match: { exact: '' } }), '/?x=1&flag', true],
    ['present', q('flag', { present_match: true }), '/?flag', true],
    ['present absent', q('flag', { present_match: true }), '/?other=1', false],
    ['present_match false matches an absent parameter', q('flag', { present_match: false }), '/?other=1', true],
    ['present_match false does not match a present one', q('flag', { present_match: false }), '/?flag=1', false],
    ['present_match false does not match a key without value', q('flag', { present_match: false }), '/?flag', false],
    ['no specifier = present', q('flag', {}), '/?flag=x', true],
    ['prefix ignore_case', q('v', { string_match: { prefix: 'AB', ignore_case: true } }), '/?v=abc', true],
    ['regex', q('id', { string_match: { safe_regex: { regex: '[0-9]+' } } }), '/?id=42', true],
    ['fragment is not part of the value', q('a', { string_match: { exact: '1' } }), '/?a=1#frag', true],
    ['malformed escape kept as sent', q('a', { string_match: { exact: '%zz' } }), '/?a=%zz', true],
  ])('%s', (_l, match, path, expected) => {
    expect(matches(match, { path })).toBe(expected);
  });
});

describe('grpc and runtime_fraction', () => {
  it('grpc match requires a gRPC request', () => {
    expect(matches({ prefix: '/', grpc: true }, { path: '/', isGrpc: true })).toBe(true);
    expect(matches({ prefix: '/', grpc: true }, { path: '/', isGrpc: false })).toBe(false);
  });

  it.each<[number, 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION', number, boolean]>([
    [50, 'HUNDRED', 0.49, true],
    [50, 'HUNDRED', 0.5, false],
    [0, 'HUNDRED', 0, false],
    [100, 'HUNDRED', 0.999999, true],
    [200, 'HUNDRED', 0.999999, true], // numerator above denominator is clamped to 100%
    [1, 'TEN_THOUSAND', 0.00009, true],
    [1, 'TEN_THOUSAND', 0.0001, false],
    [250_000, 'MILLION', 0.2499, true],
  ])('%d/%s with random %d -> %s', (numerator, denominator, r, expected) => {
    expect(matches({ prefix: '/', runtime_fraction: { default_value: { numerator, denominator } } }, { path: '/' }, () => r)).toBe(expected);
  });

  it('draws random at most once per request, shared across routes, and only when needed', () => {
    let calls = 0;
    const rnd = () => {
      calls++;
      return 0.3;
    };
    const rf = (n: number) => ({ prefix: '/', runtime_fraction: { default_value: { numerator: n, denominator: 'HUNDRED' as const } } });
    const t = RouteTable.compile(routeConfig([vhost('v', ['*'], [route(rf(20), { cluster: 'a' }), route(rf(40), { cluster: 'b' }), route({ prefix: '/' }, { cluster: 'c' })])]));
    expect(t.match(request('/'), rnd)?.route.route.route?.cluster).toBe('b');
    expect(calls).toBe(1);
    const t2 = RouteTable.compile(routeConfig([vhost('v', ['*'], [route({ prefix: '/x', runtime_fraction: rf(20).runtime_fraction }), route({ prefix: '/' })])]));
    t2.match(request('/y'), rnd);
    expect(calls).toBe(1);
  });
});
