import { beforeAll, describe, expect, it } from 'vitest';
import type { HashPolicy } from '@meshlet/xds-client';
import { initHashing, xxHash64 } from '../../src/cluster/Hashing.js';
import { RequestHasher } from '../../src/call/RequestHasher.js';
import { localSourceAddress } from '../../src/call/LocalSourceAddress.js';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { headers } from './fixtures.js';

beforeAll(() => initHashing());

const req = (h: Record<string, string> = {}, path = '/') => ({ authority: 'svc:80', path, method: 'GET', headers: headers(h) as { get(n: string): string | undefined }, isGrpc: false });
const rotl1 = (h: bigint) => ((h << 1n) | (h >> 63n)) & ((1n << 64n) - 1n);
const P = (p: Partial<HashPolicy>): HashPolicy => ({ terminal: false, ...p });

describe('RequestHasher', () => {
  it('no policy, no hasher', () => {
    expect(RequestHasher.compile([])).toBeUndefined();
  });

  it('header: xxHash64 of the value; absent header gives no hash', () => {
    const h = RequestHasher.compile([P({ header: { header_name: 'X-User' } })])!;
    expect(h.hash({ request: req({ 'x-user': 'alice' }) })).toBe(xxHash64('alice'));
    expect(h.hash({ request: req() })).toBeUndefined();
  });

  it('header with regex_rewrite hashes the rewritten value (\\1 substitutions)', () => {
    const h = RequestHasher.compile([P({ header: { header_name: ':path', regex_rewrite: { pattern: { regex: '^/users/([^/]+)/.*$' }, substitution: '\\1' } } })])!;
    expect(h.hash({ request: req({}, '/users/bob/orders') })).toBe(xxHash64('bob'));
  });

  it('header regex_rewrite is RE2::GlobalReplace and bounded: an empty-matching pattern returns, a value past the bound gives no hash', () => {
    // re2-wasm's own replace never returns for `x*`; RE2::GlobalReplace("abc", "x*", "-") is "-a-b-c-".
    const empty = RequestHasher.compile([P({ header: { header_name: 'x-user', regex_rewrite: { pattern: { regex: 'x*' }, substitution: '-' } } })])!;
    expect(empty.hash({ request: req({ 'x-user': 'abc' }) })).toBe(xxHash64('-a-b-c-'));
    // Over 128 RE2 searches (one per match here), or a value over 8 KiB: this policy yields nothing, as a missing header.
    const slash = RequestHasher.compile([P({ header: { header_name: 'x-user', regex_rewrite: { pattern: { regex: '/' }, substitution: '_' } } })])!;
    expect(slash.hash({ request: req({ 'x-user': '/a'.repeat(100) }) })).toBe(xxHash64('_a'.repeat(100)));
    expect(slash.hash({ request: req({ 'x-user': '/a'.repeat(200) }) })).toBeUndefined();
    expect(slash.hash({ request: req({ 'x-user': 'a'.repeat(8 * 1024 + 1) }) })).toBeUndefined();
  });

  it('cookie, query_parameter and source_ip', () => {
    const c = RequestHasher.compile([P({ cookie: { name: 'session' } })])!;
    expect(c.hash({ request: req({ cookie: 'a=1; session="xyz"; b=2' }) })).toBe(xxHash64('xyz'));
    expect(c.hash({ request: req({ cookie: 'a=1' }) })).toBeUndefined();
    const q = RequestHasher.compile([P({ query_parameter: { name: 'user' } })])!;
    expect(q.hash({ request: req({}, '/x?a=1&user=carol&user=dave') })).toBe(xxHash64('carol'));
    expect(q.hash({ request: req({}, '/x?a=1') })).toBeUndefined();
    const s = RequestHasher.compile([P({ connection_properties: { source_ip: true } })])!;
    expect(s.hash({ request: req(), sourceIp: '10.0.0.7' })).toBe(xxHash64('10.0.0.7'));
    // No caller address: this host's own (the pod IP a sidecar would see), the same for every request.
    const local = localSourceAddress();
    expect(isIP(local)).not.toBe(0);
    expect(local).toBe(localSourceAddress());
    expect(s.hash({ request: req() })).toBe(xxHash64(local));
    const external = Object.values(networkInterfaces()).flatMap((a) => a ?? []).filter((a) => !a.internal);
    if (external.some((a) => a.family === 'IPv4')) expect(external.map((a) => a.address)).toContain(local);
  });

  it('combines hashes by rotate-left-1 then XOR, skipping policies with no value', () => {
    const h = RequestHasher.compile([P({ header: { header_name: 'a' } }), P({ header: { header_name: 'missing' } }), P({ header: { header_name: 'b' } })])!;
    const expected = rotl1(xxHash64('1')) ^ xxHash64('2');
    expect(h.hash({ request: req({ a: '1', b: '2' }) })).toBe(expected);
    // duplicate policies do not cancel out
    const d = RequestHasher.compile([P({ header: { header_name: 'a' } }), P({ header: { header_name: 'a' } })])!;
    expect(d.hash({ request: req({ a: '1' }) })).toBe(rotl1(xxHash64('1')) ^ xxHash64('1'));
    expect(d.hash({ request: req({ a: '1' }) })).not.toBe(0n);
  });

  it('terminal stops once a hash exists, and is skipped when its policy produced none', () => {
    const h = RequestHasher.compile([P({ header: { header_name: 'a' }, terminal: true }), P({ header: { header_name: 'b' } })])!;
    expect(h.hash({ request: req({ a: '1', b: '2' }) })).toBe(xxHash64('1'));
    expect(h.hash({ request: req({ b: '2' }) })).toBe(xxHash64('2'));
  });
});
