import { describe, expect, it } from 'vitest';
import { ValidationError } from '@meshlet/xds-client';
import { VirtualHostSelector } from '../../src/routing/index.js';

function selector(hosts: Record<string, string[]>, ignorePort = false) {
  return new VirtualHostSelector(
    Object.entries(hosts).map(([value, domains]) => ({ value, domains })),
    ignorePort,
  );
}

describe('VirtualHostSelector', () => {
  const s = selector({
    exact: ['api.example.com'],
    suffix: ['*.example.com'],
    longerSuffix: ['*.eu.example.com'],
    dashSuffix: ['*-bar.foo.com'],
    prefix: ['api.*'],
    longerPrefix: ['api.internal.*'],
    star: ['*'],
    withPort: ['reviews:9080', 'ratings'],
  });

  it.each([
    ['api.example.com', 'exact'],
    ['API.Example.COM', 'exact'],
    ['www.example.com', 'suffix'],
    ['x.eu.example.com', 'longerSuffix'],
    ['baz-bar.foo.com', 'dashSuffix'],
    ['-bar.foo.com', 'star'], // a wildcard never matches an empty remainder
    ['.example.com', 'star'],
    ['api.other.org', 'prefix'],
    ['api.internal.x', 'longerPrefix'],
    ['nothing.org', 'star'],
    ['reviews:9080', 'withPort'],
    ['reviews', 'star'], // only reviews:9080 is listed
    ['ratings', 'withPort'],
    ['ratings:9080', 'withPort'], // Meshlet: bare host tried before '*' when the authority has a port
    ['www.example.com:8443', 'suffix'],
  ])('%s -> %s', (authority, expected) => {
    expect(s.select(authority)).toBe(expected);
  });

  it('suffix wildcards win over prefix wildcards', () => {
    expect(selector({ suf: ['*.com'], pre: ['api.*'] }).select('api.com')).toBe('suf');
  });

  it('exact host:port beats a bare-host fallback', () => {
    const t = selector({ bare: ['svc'], port: ['svc:80'] });
    expect(t.select('svc:80')).toBe('port');
    expect(t.select('svc:81')).toBe('bare');
  });

  it('without any match and no *, selects nothing', () => {
    expect(selector({ a: ['a.com'] }).select('b.com')).toBeUndefined();
    expect(selector({ a: ['a.com'] }).select('b.com')).toBeUndefined(); // cached miss
  });

  it('ignore_port_in_host_matching strips the port before matching', () => {
    const t = selector({ a: ['svc'], star: ['*'] }, true);
    expect(t.select('svc:1234')).toBe('a');
    const withPortListed = selector({ a: ['svc:1234'], star: ['*'] }, true);
    expect(withPortListed.select('svc:1234')).toBe('star');
  });

  it('handles IPv6 literals', () => {
    const t = selector({ v6: ['[::1]'], v6port: ['[::1]:8080'], star: ['*'] });
    expect(t.select('[::1]:8080')).toBe('v6port');
    expect(t.select('[::1]:9090')).toBe('v6');
    expect(t.select('[::1]')).toBe('v6');
  });

  it('rejects duplicate and empty domains', () => {
    expect(() => selector({ a: ['x'], b: ['x'] })).toThrow(ValidationError);
    expect(() => selector({ a: ['*'], b: ['*'] })).toThrow(ValidationError);
    expect(() => selector({ a: [''] })).toThrow(ValidationError);
  });

  it('keeps answering correctly past the cache limit', () => {
    const t = selector({ exact: ['a.com'], suffix: ['*.b.com'] });
    for (let i = 0; i < 3000; i++) expect(t.select(`h${i}.b.com`)).toBe('suffix');
    expect(t.select('a.com')).toBe('exact');
  });
});
