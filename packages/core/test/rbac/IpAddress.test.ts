import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@meshlet/xds-client';
import { CidrMatcher, IpAddress } from '../../src/rbac/index.js';

const v4Bytes = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const v6Groups = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
/** Node's WHATWG URL parser gives the canonical (RFC 5952 compressed) text of an IPv6 literal. */
const canonicalV6 = (groups: number[]) => new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);

describe('IpAddress.parse', () => {
  it.each<[string, string | undefined]>([
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['::', '0:0:0:0:0:0:0:0'],
    ['2001:db8::8a2e:370:7334', '2001:db8:0:0:0:8a2e:370:7334'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['64:ff9b::10.1.2.3', '64:ff9b:0:0:0:0:a01:203'],
    ['256.1.1.1', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['12345::', undefined],
    ['', undefined],
    ['localhost', undefined],
  ])('%s -> %s', (text, expected) => {
    expect(IpAddress.parse(text)?.toString()).toBe(expected);
  });

  it('property: dotted quads round-trip', () => {
    fc.assert(
      fc.property(v4Bytes, (b) => {
        expect(IpAddress.parse(b.join('.'))?.toString()).toBe(b.join('.'));
      }),
    );
  });

  it('property: full and compressed IPv6 forms parse to the same address', () => {
    fc.assert(
      fc.property(v6Groups, (g) => {
        const full = IpAddress.parse(g.map((x) => x.toString(16)).join(':'))!;
        const compressed = IpAddress.parse(canonicalV6(g))!;
        expect(compressed.equals(full)).toBe(true);
        if (!full.v4) expect(full.toString()).toBe(g.map((x) => x.toString(16)).join(':'));
      }),
    );
  });

  it('property: agrees with node:net isIP on strings over the address alphabet', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f:.]{0,20}$/), (s) => {
        expect(IpAddress.parse(s) !== undefined).toBe(isIP(s) !== 0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('CidrMatcher', () => {
  const cidr = (address_prefix: string, prefix_len: number) => new CidrMatcher({ address_prefix, prefix_len }, 'r');
  it.each<[string, number, string, boolean]>([
    ['10.0.0.0', 8, '10.255.1.1', true],
    ['10.0.0.0', 8, '11.0.0.1', false],
    ['10.1.2.3', 8, '10.9.9.9', true], // host bits beyond prefix_len are ignored, as in Envoy
    ['0.0.0.0', 0, '1.2.3.4', true],
    ['0.0.0.0', 0, '::1', false],
    ['192.168.1.1', 32, '192.168.1.1', true],
    ['192.168.1.1', 32, '192.168.1.2', false],
    ['10.0.0.0', 8, '::ffff:10.0.0.1', true],
    ['::ffff:10.0.0.0', 104, '10.3.3.3', true],
    ['2001:db8::', 32, '2001:db8:ffff::1', true],
    ['2001:db8::', 33, '2001:db8:8000::1', false],
    ['2001:db8::', 33, '2001:db8:7fff::1', true],
    ['::', 0, '2001:db8::1', true],
    ['::', 0, '10.0.0.1', false],
    ['fe80::', 10, 'fe80::1%eth0', true],
    ['::1', 128, '::1', true],
  ])('%s/%d contains %s: %s', (prefix, len, ip, expected) => {
    expect(cidr(prefix, len).contains(IpAddress.parse(ip))).toBe(expected);
  });

  it('canonical keys identify equal ranges', () => {
    expect(cidr('10.1.2.3', 8).key).toBe('10.0.0.0/8');
    expect(cidr('::ffff:10.0.0.0', 104).key).toBe('10.0.0.0/8');
    expect(cidr('2001:db8::1', 32).key).toBe('2001:db8:0:0:0:0:0:0/32');
  });

  it.each<[string, unknown]>([
    ['10.0.0.0', 33],
    ['::', 129],
    ['10.0.0.0', -1],
    ['nope', 8],
    ['::ffff:10.0.0.0', 64],
  ])('rejects %s/%s', (address_prefix, prefix_len) => {
    expect(() => new CidrMatcher({ address_prefix, prefix_len }, 'r')).toThrow(ValidationError);
  });

  it('property: an address is in its own /n for every n, and /n ranges nest', () => {
    fc.assert(
      fc.property(v4Bytes, fc.integer({ min: 0, max: 32 }), v4Bytes, (b, n, other) => {
        const ip = b.join('.');
        const r = cidr(ip, n);
        expect(r.contains(IpAddress.parse(ip))).toBe(true);
        const o = IpAddress.parse(other.join('.'));
        // Contained in a longer prefix implies contained in every shorter one.
        if (r.contains(o) && n > 0) expect(cidr(ip, n - 1).contains(o)).toBe(true);
        // Containment agrees with comparing the top n bits numerically.
        const top = (x: number[]) => (n === 0 ? 0 : Math.floor(((x[0]! * 256 + x[1]!) * 256 + x[2]!) * 256 + x[3]!) / 2 ** (32 - n));
        expect(r.contains(o)).toBe(Math.floor(top(b)) === Math.floor(top(other)));
      }),
    );
  });

  it('property: IPv6 containment agrees with BigInt prefix comparison', () => {
    const big = (g: number[]) => g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
    fc.assert(
      fc.property(v6Groups, fc.integer({ min: 0, max: 128 }), v6Groups, (a, n, b) => {
        // Skip the IPv4-mapped space, which is canonicalised to IPv4.
        fc.pre(!(a.slice(0, 6).join() === '0,0,0,0,0,65535') && !(b.slice(0, 6).join() === '0,0,0,0,0,65535'));
        const r = cidr(canonicalV6(a), n);
        const shift = BigInt(128 - n);
        expect(r.contains(IpAddress.parse(canonicalV6(b)))).toBe(big(a) >> shift === big(b) >> shift);
      }),
    );
  });
});
