import { describe, expect, it } from 'vitest';
import { SanMatcher, SpiffeId, SpiffeIdError, spiffeIdOfSans } from '../../src/identity/index.js';

describe('SpiffeId', () => {
  it('parses, formats and exposes Istio namespace / service account', () => {
    const id = SpiffeId.parse('spiffe://cluster.local/ns/default/sa/reviews');
    expect([id.trustDomain, id.path, id.namespace, id.serviceAccount]).toEqual(['cluster.local', '/ns/default/sa/reviews', 'default', 'reviews']);
    expect(id.toString()).toBe('spiffe://cluster.local/ns/default/sa/reviews');
    expect(SpiffeId.forWorkload('td', 'a', 'b').equals(SpiffeId.parse('spiffe://td/ns/a/sa/b'))).toBe(true);
    expect(SpiffeId.parse('spiffe://example.org').path).toBe('');
    expect(SpiffeId.parse('spiffe://example.org/workload').namespace).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['http://cluster.local/ns/a', /scheme/],
    ['SPIFFE://cluster.local/ns/a', /scheme/],
    ['spiffe:///ns/a', /trust domain is missing/],
    ['spiffe://Cluster.local/ns/a', /lower-case/],
    ['spiffe://cluster.local:8080/ns/a', /port/],
    ['spiffe://user@cluster.local/ns/a', /userinfo/],
    ['spiffe://cluster.local/ns//a', /empty segment/],
    ['spiffe://cluster.local/ns/a/', /trailing slash/],
    ['spiffe://cluster.local/ns/../a', /"\." or "\.\."/],
    ['spiffe://cluster.local/ns/a?x=1', /query/],
    ['spiffe://cluster.local/ns/a#f', /fragment/],
    ['spiffe://cluster.local/ns/a b', /may only contain/],
  ])('rejects %j', (input, reason) => {
    expect(() => SpiffeId.parse(input)).toThrow(SpiffeIdError);
    expect(() => SpiffeId.parse(input)).toThrow(reason);
    expect(SpiffeId.tryParse(input)).toBeUndefined();
  });

  it('takes the identity only from a single spiffe URI SAN', () => {
    expect(spiffeIdOfSans([{ type: 'DNS', value: 'x' }, { type: 'URI', value: 'spiffe://td/a' }])?.toString()).toBe('spiffe://td/a');
    expect(spiffeIdOfSans([{ type: 'URI', value: 'spiffe://td/a' }, { type: 'URI', value: 'spiffe://td/b' }])).toBeUndefined();
  });
});

describe('SanMatcher', () => {
  const vc = (m: object) => ({ match_subject_alt_names: [], match_typed_subject_alt_names: [], ...m });

  it('applies legacy matchers to every SAN type, with exact / prefix / suffix / contains / RE2 / ignore_case', () => {
    const m = SanMatcher.fromValidationContext(
      vc({
        match_subject_alt_names: [
          { prefix: 'spiffe://cluster.local/ns/prod/' },
          { suffix: '.internal' },
          { contains: 'MiDdLe', ignore_case: true },
          { safe_regex: { regex: 'spiffe://cluster\\.local/ns/[a-z]+/sa/ratings' } },
          { exact: '10.0.0.1' },
        ],
      }),
    )!;
    expect(m.matches([{ type: 'URI', value: 'spiffe://cluster.local/ns/prod/sa/x' }])).toBe(true);
    expect(m.matches([{ type: 'DNS', value: 'db.internal' }])).toBe(true);
    expect(m.matches([{ type: 'DNS', value: 'a.middle.b' }])).toBe(true);
    expect(m.matches([{ type: 'URI', value: 'spiffe://cluster.local/ns/dev/sa/ratings' }])).toBe(true);
    expect(m.matches([{ type: 'URI', value: 'spiffe://cluster.local/ns/dev/sa/ratings/extra' }])).toBe(false); // RE2 full match
    expect(m.matches([{ type: 'IP_ADDRESS', value: '10.0.0.1' }])).toBe(true);
    expect(m.matches([{ type: 'URI', value: 'spiffe://cluster.local/ns/dev/sa/x' }])).toBe(false);
  });

  it('restricts typed matchers to their SAN type and matches DNS wildcards like Envoy', () => {
    const m = SanMatcher.fromValidationContext(
      vc({ match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.example.com' } }], match_subject_alt_names: [{ exact: 'ignored' }] }),
    )!;
    expect(m.matches([{ type: 'URI', value: 'api.example.com' }])).toBe(false);
    expect(m.matches([{ type: 'DNS', value: '*.example.com' }])).toBe(true);
    expect(m.matches([{ type: 'DNS', value: '*.com' }])).toBe(false);
    expect(m.matches([{ type: 'DNS', value: 'ignored' }])).toBe(false);
    expect(m.describe()).toBe('DNS exact api.example.com');
  });

  it('is absent without matchers, and rejects an unspecified SAN type', () => {
    expect(SanMatcher.fromValidationContext(vc({}))).toBeUndefined();
    expect(() => SanMatcher.fromValidationContext(vc({ match_typed_subject_alt_names: [{ san_type: 'SAN_TYPE_UNSPECIFIED', matcher: { exact: 'x' } }] }))).toThrow(/san_type must be set/);
  });
});
