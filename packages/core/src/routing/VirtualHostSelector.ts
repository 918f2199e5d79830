import { ValidationError } from '@meshlet/xds-client';
import { asciiLower } from './AsciiCase.js';
import { splitHostPort } from './HostPort.js';

interface Wildcard<T> {
  /** the fixed part of the pattern: `.foo.com` for `*.foo.com`, `foo.` for `foo.*` */
  readonly fixed: string;
  readonly value: T;
}

const CACHE_LIMIT = 1024;

/**
 * VirtualHost selection by `:authority` (envoy RouteMatcher::findVirtualHost):
 * exact domain, then the longest suffix wildcard (`*.foo.com`, `*-bar.foo.com`), then the longest
 * prefix wildcard (`foo.*`, `foo*`), then `*`. Matching is case-insensitive. A wildcard never matches
 * an empty remainder (`*.foo.com` does not match `.foo.com`). Domains must be unique across the
 * route configuration.
 *
 * Ports: domains are matched against the authority as sent, `host:port` included, as Envoy does
 * (istiod lists `host`, `host:port` and short names). With ignore_port_in_host_matching the port is
 * stripped from the authority first. Meshlet addition: when the authority carries a port and nothing
 * but `*` would match it, the bare host is tried before falling back to `*`, so a route config that
 * lists only `reviews` still routes `reviews:9080` (Envoy would take `*` or answer 404 here).
 *
 * Selections are cached per authority (bounded; the cache is simply cleared when full), so the
 * steady-state cost per request is one Map lookup.
 */
export class VirtualHostSelector<T> {
  private readonly exact = new Map<string, T>();
  private readonly suffixes: Wildcard<T>[] = [];
  private readonly prefixes: Wildcard<T>[] = [];
  private star: T | undefined;
  private readonly cache = new Map<string, T | null>();

  constructor(
    hosts: readonly { readonly domains: readonly string[]; readonly value: T }[],
    private readonly ignorePort = false,
  ) {
    const seen = new Set<string>();
    hosts.forEach(({ domains, value }, v) => {
      domains.forEach((raw, d) => {
        const domain = asciiLower(raw);
        const fieldPath = `virtual_hosts[${v}].domains[${d}]`;
        if (domain === '') throw new ValidationError(fieldPath, 'domain must not be empty');
        if (seen.has(domain)) throw new ValidationError(fieldPath, `duplicate domain ${JSON.stringify(raw)}: domains must be unique across virtual hosts`);
        seen.add(domain);
        if (domain === '*') this.star = value;
        else if (domain.startsWith('*')) this.suffixes.push({ fixed: domain.slice(1), value });
        else if (domain.endsWith('*')) this.prefixes.push({ fixed: domain.slice(0, -1), value });
        else this.exact.set(domain, value);
      });
    });
    // Longest wildcard first; equal lengths cannot both match one host (distinct strings).
    this.suffixes.sort((a, b) => b.fixed.length - a.fixed.length);
    this.prefixes.sort((a, b) => b.fixed.length - a.fixed.length);
  }

  select(authority: string): T | undefined {
    const cached = this.cache.get(authority);
    if (cached !== undefined) return cached === null ? undefined : cached;
    const found = this.resolve(authority);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(authority, found === undefined ? null : found);
    return found;
  }

  private resolve(authority: string): T | undefined {
    let host = asciiLower(authority);
    const { host: bare, port } = splitHostPort(host);
    if (this.ignorePort && port !== '') host = bare;
    const found = this.matchSpecific(host);
    if (found !== undefined) return found;
    if (port !== '' && host !== bare) {
      const byBareHost = this.matchSpecific(bare);
      if (byBareHost !== undefined) return byBareHost;
    }
    return this.star;
  }

  private matchSpecific(host: string): T | undefined {
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    for (const s of this.suffixes) {
      if (host.length > s.fixed.length && host.endsWith(s.fixed)) return s.value;
    }
    for (const p of this.prefixes) {
      if (host.length > p.fixed.length && host.startsWith(p.fixed)) return p.value;
    }
    return undefined;
  }
}
