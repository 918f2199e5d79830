import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeAny } from '../src/proto/EnvoyProtos.js';
import { RouteConfigurationResource } from '../src/resources/route/RouteConfigurationResource.js';
import { decodeRouteConfigurationWire } from '../src/resources/route/RouteConfigurationWire.js';
import { wireAgreement } from './helpers/wireAgreement.js';

const RC = 'envoy.config.route.v3.RouteConfiguration';

const { general, expectAgreement, expectRejected, checkProperty } = wireAgreement(RouteConfigurationResource, decodeRouteConfigurationWire);

/** A route configuration as the config-scale push sends it: one virtual host, prefix routes to clusters. */
const table = (routes: Record<string, unknown>[], vhost: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: 'outbound|80||scale.bench.svc.cluster.local',
  virtual_hosts: [{ name: 'scale', domains: ['scale.bench.svc.cluster.local:80', 'scale.bench.svc.cluster.local'], routes, ...vhost }],
  ...extra,
});
const prefixRoute = (i: number, extra: Record<string, unknown> = {}) => ({ name: `r${i}`, match: { prefix: `/svc${i}/` }, route: { cluster: `outbound|80||svc${i}.bench.svc.cluster.local` }, ...extra });

describe('RouteConfiguration one-pass wire decode', () => {
  it('decodes the common shape (as the config-scale push sends it) to the same model as the general path', () => {
    const any = encodeAny(RC, table([prefixRoute(0), prefixRoute(1)]));
    expect(expectAgreement(any)).toBe('fast');
    const model = decodeRouteConfigurationWire(any.value)!;
    expect(model.virtual_hosts[0]!.routes[1]).toStrictEqual({
      name: 'r1',
      match: { prefix: '/svc1/', case_sensitive: true, headers: [], query_parameters: [] },
      route: { cluster: 'outbound|80||svc1.bench.svc.cluster.local', hash_policy: [] },
      request_headers_to_add: [],
      request_headers_to_remove: [],
      response_headers_to_add: [],
      response_headers_to_remove: [],
      typed_per_filter_config: {},
    });
  });

  it('takes unnamed routes, path matches, case_sensitive, timeouts, wildcard domains and an empty route list', () => {
    const routes = [
      { match: { path: '/a/b', case_sensitive: { value: false } }, route: { cluster: 'c', timeout: { seconds: 2, nanos: 500_000 } } },
      { match: { prefix: '', case_sensitive: {} }, route: { cluster: 'ü' } },
    ];
    const any = encodeAny(RC, table(routes, { domains: ['*', '*.example.com', 'example.*'] }));
    expect(expectAgreement(any)).toBe('fast');
    const [a, b] = decodeRouteConfigurationWire(any.value)!.virtual_hosts[0]!.routes;
    expect(a).not.toHaveProperty('name');
    expect(a!.match).toStrictEqual({ path: '/a/b', case_sensitive: false, headers: [], query_parameters: [] });
    expect(a!.route).toStrictEqual({ cluster: 'c', timeout: 2000.5, hash_policy: [] });
    expect(b!.match.case_sensitive).toBe(false);
    expect(expectAgreement(encodeAny(RC, table([])))).toBe('fast');
    expect(expectAgreement(encodeAny(RC, { name: 'no-vhosts' }))).toBe('fast');
  });

  it('gives frozen models whose shared empty lists cannot be changed', () => {
    const model = RouteConfigurationResource.decode(encodeAny(RC, table([prefixRoute(0), prefixRoute(1)]))).resource;
    const [a, b] = model.virtual_hosts[0]!.routes;
    expect(Object.isFrozen(a!.request_headers_to_add)).toBe(true);
    expect(() => (b!.request_headers_to_add as unknown[]).push({})).toThrow(TypeError);
    expect(a!.request_headers_to_add).toHaveLength(0);
  });

  it('leaves everything outside the common shape to the general path (same model)', () => {
    const outside = [
      table([prefixRoute(0, { request_headers_to_add: [{ header: { key: 'x', value: 'y' } }] })]),
      table([prefixRoute(0, { decorator: { operation: 'op' } })]),
      table([{ match: { prefix: '/', headers: [{ name: 'x', exact_match: 'y' }] }, route: { cluster: 'c' } }]),
      table([{ match: { safe_regex: { regex: '/a.*' } }, route: { cluster: 'c' } }]),
      table([{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 1 } }] } } }]),
      table([{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx' } } }]),
      table([{ match: { prefix: '/' }, redirect: { host_redirect: 'h' } }]),
      table([prefixRoute(0)], { retry_policy: { retry_on: '5xx' } }),
      table([prefixRoute(0)], {}, { validate_clusters: { value: false } }),
      table([prefixRoute(0)], {}, { ignore_port_in_host_matching: true }),
    ];
    for (const rc of outside) expect(expectAgreement(encodeAny(RC, rc))).toBe('general');
  });

  it('rejects nothing itself: invalid input gets the general path and its error message', () => {
    const invalid = [
      table([{ match: { prefix: '/' }, route: { cluster: '' } }]),
      table([{ match: { prefix: '/', path: '/p' }, route: { cluster: 'c' } }]),
      table([{ route: { cluster: 'c' } }]),
      table([{ match: { prefix: '/' } }]),
      table([prefixRoute(0)], { domains: [] }),
      table([prefixRoute(0)], { domains: ['a*b'] }),
      table([prefixRoute(0)], { domains: ['**'] }),
      table([{ match: { prefix: '/' }, route: { cluster: 'c', timeout: { seconds: -1 } } }]),
      { virtual_hosts: [] },
    ];
    expectRejected(RC, invalid);
    expect(general(encodeAny(RC, invalid[0]!))).toMatchObject({ ok: false, message: expect.stringContaining('virtual_hosts[0].routes[0].route.cluster') });
  });

  it('property: for generated route configurations and every truncation of one, fast and general paths agree (300 + 300 runs)', () => {
    const str = fc.oneof(fc.constantFrom('', 'c', '/', '/svc1/', 'outbound|80||a.b', 'ü'), fc.string({ maxLength: 6 }));
    const domain = fc.oneof(fc.constantFrom('a.b:80', 'a.b', '*', '*.a', 'a.*', 'a.b', 'a.b'), fc.constantFrom('', 'a*b', '**'), fc.string({ maxLength: 4 }));
    const duration = fc.record({ seconds: fc.constantFrom(0, 1, 5, 4_294_967_295, 4_294_967_296, -1), nanos: fc.constantFrom(0, 0, 1, 999_999_999, -1) }, { requiredKeys: [] });
    const match = fc.record(
      {
        prefix: str,
        path: str,
        case_sensitive: fc.record({ value: fc.boolean() }, { requiredKeys: [] }),
        // Outside the fast path.
        headers: fc.constantFrom([], [{ name: 'x', present_match: true }]),
      },
      { requiredKeys: [] },
    );
    const action = fc.record(
      {
        cluster: str,
        timeout: duration,
        // Outside the fast path (and, with a cluster, invalid).
        cluster_header: fc.constantFrom('x-cluster', ''),
        idle_timeout: duration,
      },
      { requiredKeys: [] },
    );
    const route = fc.record({ name: str, match, route: action }, { requiredKeys: [] });
    const commonRoute = fc.record({ name: str, match: fc.record({ prefix: str }), route: fc.record({ cluster: str }) });
    const vhost = fc.record(
      {
        name: str,
        domains: fc.array(domain, { maxLength: 3 }),
        routes: fc.array(fc.oneof(commonRoute, commonRoute, route), { maxLength: 4 }),
        include_request_attempt_count: fc.boolean(),
      },
      { requiredKeys: ['domains', 'routes'] },
    );
    const rc = fc.record({ name: str, virtual_hosts: fc.array(vhost, { maxLength: 3 }) }, { requiredKeys: [] });
    checkProperty(RC, rc, 300);
  });
});
