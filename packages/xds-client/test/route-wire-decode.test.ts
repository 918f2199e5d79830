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
      table([{ match: { prefix: '/', headers: [{ name: 'x', range_match: { start: 1, end: 5 } }] }, route: { cluster: 'c' } }]),
      table([{ match: { safe_regex: { google_re2: {}, regex: '/a.*' } }, route: { cluster: 'c' } }]),
      table([{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 1 }, request_headers_to_remove: ['x'] }] } } }]),
      table([{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', rate_limited_retry_back_off: {} } } }]),
      table([{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_host_predicate: [{ name: 'p', typed_config: { type_url: 'type.googleapis.com/google.protobuf.Empty' } }] } } }]),
      table([{ match: { prefix: '/' }, redirect: { host_redirect: 'h' } }]),
      table([prefixRoute(0)], { retry_policy: { retry_on: '5xx' } }),
      table([prefixRoute(0)], {}, { validate_clusters: { value: false } }),
      table([prefixRoute(0)], {}, { ignore_port_in_host_matching: true }),
    ];
    for (const rc of outside) expect(expectAgreement(encodeAny(RC, rc))).toBe('general');
  });

  it('takes header matchers, regex matches, weighted clusters and retry policies (what mesh routes carry), checked by the general validators', () => {
    const retry_policy = {
      retry_on: '5xx,connect-failure,refused-stream,reset',
      num_retries: { value: 2 },
      per_try_timeout: { seconds: 2 },
      retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
      host_selection_retry_max_attempts: 5,
      retriable_status_codes: [500, 503],
      retry_back_off: { base_interval: { nanos: 200_000_000 } },
      retriable_headers: [{ name: 'x-retry', present_match: true }],
    };
    const mesh = [
      table([{ match: { prefix: '/', headers: [{ name: 'x', exact_match: 'y' }] }, route: { cluster: 'c' } }]),
      table([{ match: { safe_regex: { regex: '/a.*' } }, route: { cluster: 'c' } }]),
      table([{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 1 } }] } } }]),
      table([{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx' } } }]),
      table([
        { name: 'canary', match: { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'always' } }] }, route: { cluster: 'v2', timeout: { seconds: 10 } } },
        { name: 'items', match: { safe_regex: { regex: '/api/v[0-9]+/items/[0-9]+' } }, route: { cluster: 'v1', timeout: { seconds: 10 } } },
        {
          name: 'default',
          match: { prefix: '/', headers: [{ name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD' }, ignore_case: true }, invert_match: true }] },
          route: { weighted_clusters: { clusters: [{ name: 'v1', weight: { value: 90 } }, { name: 'v2', weight: { value: 10 } }], total_weight: { value: 100 } }, timeout: { seconds: 10 }, retry_policy },
        },
      ]),
    ];
    for (const rc of mesh) expect(expectAgreement(encodeAny(RC, rc))).toBe('fast');
    const routes = decodeRouteConfigurationWire(encodeAny(RC, mesh[4]!).value)!.virtual_hosts[0]!.routes;
    expect(routes[1]!.match.safe_regex).toStrictEqual({ regex: '/api/v[0-9]+/items/[0-9]+' });
    expect(routes[2]!.route!.retry_policy).toMatchObject({ num_retries: 2, per_try_timeout: 2000, host_selection_retry_max_attempts: 5, retriable_status_codes: [500, 503] });
    // What the general validators refuse, the fast path leaves to the general path, which says why.
    const invalid = [
      table([{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'c' } }]),
      table([{ match: { prefix: '/', headers: [{ name: '' }] }, route: { cluster: 'c' } }]),
      table([{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } } }]),
      table([{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_back_off: { base_interval: {} } } } }]),
    ];
    expectRejected(RC, invalid);
    expect(general(encodeAny(RC, invalid[0]!))).toMatchObject({ ok: false, message: expect.stringContaining('virtual_hosts[0].routes[0].match.safe_regex.regex') });
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

  it('property: for generated route configurations and every truncation of one, fast and general paths agree (600 + 600 runs, and 300 + 300 of mesh routes)', () => {
    const str = fc.oneof(fc.constantFrom('', 'c', '/', '/svc1/', 'outbound|80||a.b', 'ü'), fc.string({ maxLength: 6 }));
    const domain = fc.oneof(fc.constantFrom('a.b:80', 'a.b', '*', '*.a', 'a.*', 'a.b', 'a.b'), fc.constantFrom('', 'a*b', '**'), fc.string({ maxLength: 4 }));
    const duration = fc.record({ seconds: fc.constantFrom(0, 1, 5, 4_294_967_295, 4_294_967_296, -1), nanos: fc.constantFrom(0, 0, 1, 999_999_999, -1) }, { requiredKeys: [] });
    const regex = fc.record({ regex: fc.oneof(fc.constantFrom('/a.*', '[0-9]+', '(', 'a{2,1}', ''), fc.string({ maxLength: 4 })) }, { requiredKeys: [] });
    const stringMatch = fc.record(
      { exact: str, prefix: str, suffix: str, contains: str, safe_regex: regex, ignore_case: fc.boolean() },
      { requiredKeys: [] },
    );
    const header = fc.record(
      {
        name: fc.constantFrom('x', ':method', '', 'x-canary'),
        exact_match: str,
        present_match: fc.boolean(),
        prefix_match: str,
        safe_regex_match: regex,
        string_match: stringMatch,
        invert_match: fc.boolean(),
        treat_missing_header_as_empty: fc.boolean(),
        // Outside the fast path.
        range_match: fc.record({ start: fc.constantFrom(0, 5), end: fc.constantFrom(0, 9) }),
      },
      { requiredKeys: [] },
    );
    const match = fc.record(
      {
        prefix: str,
        path: str,
        safe_regex: regex,
        case_sensitive: fc.record({ value: fc.boolean() }, { requiredKeys: [] }),
        headers: fc.array(header, { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    const wrappedUint = fc.record({ value: fc.constantFrom(0, 1, 10, 90, 4_294_967_295) }, { requiredKeys: [] });
    const weighted = fc.record(
      {
        clusters: fc.array(
          fc.record(
            {
              name: str,
              weight: wrappedUint,
              host_rewrite_literal: str,
              // Outside the fast path.
              request_headers_to_remove: fc.constantFrom(['x']),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        total_weight: wrappedUint,
        runtime_key_prefix: str,
      },
      { requiredKeys: [] },
    );
    const retry = fc.record(
      {
        retry_on: fc.constantFrom('5xx', '5xx,reset', '', ' , gateway-error'),
        num_retries: wrappedUint,
        per_try_timeout: duration,
        per_try_idle_timeout: duration,
        retry_host_predicate: fc.array(fc.record({ name: str }, { requiredKeys: [] }), { maxLength: 2 }),
        retry_priority: fc.record({ name: str }, { requiredKeys: [] }),
        host_selection_retry_max_attempts: fc.constantFrom(0, 5, -1, '4294967296'),
        retriable_status_codes: fc.array(fc.constantFrom(0, 500, 503), { maxLength: 3 }),
        retry_back_off: fc.record({ base_interval: duration, max_interval: duration }, { requiredKeys: [] }),
        retriable_headers: fc.array(header, { maxLength: 1 }),
        retriable_request_headers: fc.array(header, { maxLength: 1 }),
        // Outside the fast path.
        rate_limited_retry_back_off: fc.constantFrom({}),
      },
      { requiredKeys: [] },
    );
    const action = fc.record(
      {
        cluster: str,
        timeout: duration,
        weighted_clusters: weighted,
        retry_policy: retry,
        // Outside the fast path (and, with a cluster, invalid).
        cluster_header: fc.constantFrom('x-cluster', ''),
        idle_timeout: duration,
      },
      { requiredKeys: [] },
    );
    const route = fc.record({ name: str, match, route: action }, { requiredKeys: [] });
    // Routes as a mesh writes them (nearly all valid), so the fast path's richer parts are reached often.
    const meshName = fc.constantFrom('v1', 'v2', 'outbound|9080|v1|reviews.bench.svc.cluster.local', 'ü');
    const meshRegex = fc.record({ regex: fc.oneof({ arbitrary: fc.constantFrom('/api/v[0-9]+/items/[0-9]+', 'GET|HEAD', '.*', '(?i)abc'), weight: 12 }, { arbitrary: fc.constant('('), weight: 1 }) });
    const meshHeader = fc.oneof(
      fc.record({ name: fc.constantFrom('x-canary', ':method'), string_match: fc.oneof(fc.record({ exact: meshName }), fc.record({ safe_regex: meshRegex, ignore_case: fc.boolean() })) }),
      fc.record({ name: fc.constantFrom('x', 'x-user'), exact_match: meshName, invert_match: fc.boolean() }, { requiredKeys: ['name'] }),
      fc.record({ name: fc.constantFrom('x'), present_match: fc.boolean(), treat_missing_header_as_empty: fc.boolean() }),
    );
    const meshRetry = fc.record(
      {
        retry_on: fc.constantFrom('5xx,connect-failure', 'reset'),
        num_retries: fc.record({ value: fc.constantFrom(0, 2) }),
        per_try_timeout: fc.record({ seconds: fc.constantFrom(0, 2) }),
        retry_host_predicate: fc.constantFrom([{ name: 'envoy.retry_host_predicates.previous_hosts' }]),
        host_selection_retry_max_attempts: fc.constantFrom(3, 5),
        retriable_status_codes: fc.array(fc.constantFrom(500, 503), { maxLength: 2 }),
        retry_back_off: fc.record({ base_interval: fc.record({ nanos: fc.constantFrom(25_000_000) }), max_interval: fc.record({ seconds: fc.constantFrom(1) }) }, { requiredKeys: ['base_interval'] }),
        retriable_headers: fc.array(meshHeader, { maxLength: 1 }),
      },
      { requiredKeys: ['retry_on'] },
    );
    const meshRoute = fc.record(
      {
        name: meshName,
        match: fc
          .tuple(fc.oneof(fc.record({ prefix: fc.constantFrom('/', '/ratings/') }), fc.record({ path: fc.constantFrom('/login') }), fc.record({ safe_regex: meshRegex })), fc.array(meshHeader, { maxLength: 2 }))
          .map(([m, headers]) => ({ ...m, headers })),
        route: fc
          .tuple(
            fc.oneof(
              fc.record({ cluster: meshName }),
              fc.record({
                weighted_clusters: fc.record(
                  { clusters: fc.array(fc.record({ name: meshName, weight: fc.record({ value: fc.constantFrom(1, 10, 90) }) }), { minLength: 1, maxLength: 3 }), runtime_key_prefix: fc.constantFrom('rk') },
                  { requiredKeys: ['clusters'] },
                ),
              }),
            ),
            fc.option(meshRetry, { nil: undefined }),
            fc.option(fc.record({ seconds: fc.constantFrom(0, 10) }), { nil: undefined }),
          )
          .map(([a, retry_policy, timeout]) => ({ ...a, ...(retry_policy ? { retry_policy } : {}), ...(timeout ? { timeout } : {}) })),
      },
      { requiredKeys: ['match', 'route'] },
    );
    const commonRoute = fc.record({ name: str, match: fc.record({ prefix: str }), route: fc.record({ cluster: str }) });
    const vhost = fc.record(
      {
        name: str,
        domains: fc.array(domain, { maxLength: 3 }),
        routes: fc.array(fc.oneof(commonRoute, commonRoute, route, meshRoute, meshRoute), { maxLength: 4 }),
        include_request_attempt_count: fc.boolean(),
      },
      { requiredKeys: ['domains', 'routes'] },
    );
    const rc = fc.record({ name: str, virtual_hosts: fc.array(vhost, { maxLength: 3 }) }, { requiredKeys: [] });
    checkProperty(RC, rc, 600);
    // Route tables of mesh routes only, so that whole tables with their richer parts take the fast path.
    const meshVhost = fc.record({ name: fc.constantFrom('vh'), domains: fc.constantFrom(['a.b', 'a.b:80']), routes: fc.array(meshRoute, { minLength: 1, maxLength: 4 }) });
    const meshTable = fc
      .tuple(fc.array(meshVhost, { minLength: 1, maxLength: 2 }), fc.nat(5))
      // One table in six has a virtual host retry policy: outside the fast path.
      .map(([virtual_hosts, n]) => ({ name: 'rc', virtual_hosts: n === 0 ? [{ ...virtual_hosts[0], retry_policy: { retry_on: '5xx' } }, ...virtual_hosts.slice(1)] : virtual_hosts }));
    checkProperty(RC, meshTable, 300);
  });
});
