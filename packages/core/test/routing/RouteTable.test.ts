import { describe, expect, it } from 'vitest';
import { ValidationError } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { GRPC_PATHS_REMEMBERED } from '../../src/routing/GrpcPathRoutes.js';
import { request, route, routeConfig, vhost } from './builders.js';

function table() {
  return RouteTable.compile(
    routeConfig([
      vhost('reviews', ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local'], [
        route({ path: '/exact' }, { cluster: 'exact' }),
        route({ prefix: '/api', headers: [{ name: 'x-canary', exact_match: 'yes', invert_match: false }] }, { cluster: 'canary' }),
        route({ prefix: '/api' }, { cluster: 'api' }),
        route({ safe_regex: { regex: '/items/[0-9]+' } }, { cluster: 'items' }),
        route({ prefix: '/' }, { cluster: 'catch-all' }),
      ]),
      vhost('other', ['*'], [route({ prefix: '' }, { cluster: 'passthrough' })]),
    ]),
  );
}

const clusterOf = (t: RouteTable, path: string, opts?: Parameters<typeof request>[1]) => t.match(request(path, opts))?.route.clusterPicker?.pick(0, request(path, opts).headers)?.name;

describe('RouteTable', () => {
  it('first matching route wins, in config order', () => {
    const t = table();
    expect(clusterOf(t, '/exact', { authority: 'reviews' })).toBe('exact');
    expect(clusterOf(t, '/exact/more', { authority: 'reviews' })).toBe('catch-all');
    expect(clusterOf(t, '/api/v1', { authority: 'reviews', headers: { 'x-canary': 'yes' } })).toBe('canary');
    expect(clusterOf(t, '/api/v1', { authority: 'reviews', headers: { 'x-canary': 'no' } })).toBe('api');
    expect(clusterOf(t, '/items/42', { authority: 'reviews' })).toBe('items');
    expect(clusterOf(t, '/items/42?x=1', { authority: 'reviews' })).toBe('items');
    expect(clusterOf(t, '/items/42x', { authority: 'reviews' })).toBe('catch-all');
  });

  it('selects the virtual host by authority and falls back to *', () => {
    const t = table();
    expect(t.match(request('/', { authority: 'REVIEWS:9080' }))?.virtualHost.name).toBe('reviews');
    expect(t.match(request('/', { authority: 'ratings:9080' }))?.virtualHost.name).toBe('other');
    expect(t.match(request('/x', { authority: 'ratings' }))?.route.clusterPicker?.pick(0, request('/').headers)?.name).toBe('passthrough');
  });

  it('returns undefined when no virtual host or no route matches', () => {
    const t = RouteTable.compile(routeConfig([vhost('a', ['a'], [route({ path: '/only' })])]));
    expect(t.match(request('/only', { authority: 'b' }))).toBeUndefined();
    expect(t.match(request('/other', { authority: 'a' }))).toBeUndefined();
    expect(t.match(request('/only', { authority: 'a' }))?.route.action).toBe('route');
  });

  it('returns the same result object for repeated matches (no per-request allocation of results)', () => {
    const t = table();
    const a = t.match(request('/api', { authority: 'reviews' }));
    const b = t.match(request('/api', { authority: 'reviews' }));
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it('throws ValidationError naming the field and resource for a regex RE2 rejects', () => {
    const bad = routeConfig([vhost('a', ['a'], [route({ prefix: '/' }), route({ safe_regex: { regex: '(?=lookahead)' } })])]);
    let err: unknown;
    try {
      RouteTable.compile(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldPath).toBe('virtual_hosts[0].routes[1].match.safe_regex.regex');
    expect((err as ValidationError).resourceName).toBe('test-routes');
  });

  it.each([
    ['a regex that escapes its anchoring group', { safe_regex: { regex: 'a)|(b' } }],
    ['a route without path specifier', {}],
    ['two path specifiers', { prefix: '/', path: '/x' }],
    ['a path_separated_prefix ending in /', { path_separated_prefix: '/api/' }],
    ['a path_separated_prefix of "/" alone', { path_separated_prefix: '/' }],
    ['a one-character path_separated_prefix', { path_separated_prefix: 'a' }],
  ])('rejects %s', (_label, match) => {
    expect(() => RouteTable.compile(routeConfig([vhost('a', ['a'], [route(match)])]))).toThrow(ValidationError);
  });

  it('rejects duplicate domains across virtual hosts', () => {
    expect(() => RouteTable.compile(routeConfig([vhost('a', ['x.com'], []), vhost('b', ['X.com'], [])]))).toThrow(/duplicate domain/);
  });

  it('rejects a route with no action or a RouteAction with two cluster specifiers', () => {
    expect(() => RouteTable.compile(routeConfig([vhost('a', ['a'], [route({ prefix: '/' }, {} as never, { route: undefined })])]))).toThrow(ValidationError);
    expect(() => RouteTable.compile(routeConfig([vhost('a', ['a'], [route({ prefix: '/' }, { cluster: 'a', cluster_header: 'x-c' })])]))).toThrow(/more than one cluster_specifier/);
  });

  it('classifies actions', () => {
    const t = RouteTable.compile(
      routeConfig([
        vhost('a', ['a'], [
          route({ path: '/r' }, { redirect: { response_code: 'FOUND', path_redirect: '/n' } }),
          route({ path: '/d' }, { direct_response: { status: 204 } }),
          route({ path: '/n' }, { non_forwarding_action: true }),
          route({ path: '/c' }, { cluster: 'c' }),
        ]),
      ]),
    );
    const kind = (p: string) => t.match(request(p, { authority: 'a' }))?.route.action;
    expect([kind('/r'), kind('/d'), kind('/n'), kind('/c')]).toEqual(['redirect', 'direct_response', 'non_forwarding', 'route']);
    expect(t.match(request('/r', { authority: 'a' }))?.route.clusterPicker).toBeUndefined();
  });

  it('matchRoute matches within a given virtual host', () => {
    const t = table();
    const vh = t.selectVirtualHost('reviews')!;
    expect(t.matchRoute(vh, request('/exact'))?.route.route?.cluster).toBe('exact');
  });

  it('is re-entrant safe: a match from inside a random() callback does not corrupt the outer one', () => {
    const t = RouteTable.compile(
      routeConfig([
        vhost('a', ['a'], [
          route({ prefix: '/frac', runtime_fraction: { default_value: { numerator: 100, denominator: 'HUNDRED' } } }, { cluster: 'frac' }),
          route({ prefix: '/' }, { cluster: 'root' }),
        ]),
      ]),
    );
    let inner: string | undefined;
    const outer = t.match(request('/frac', { authority: 'a' }), () => {
      inner = t.match(request('/zzz', { authority: 'a' }))?.route.route.route?.cluster;
      return 0.5;
    });
    expect(inner).toBe('root');
    expect(outer?.route.route.route?.cluster).toBe('frac');
  });

  it('accepts a fetch Headers object as HeaderLookup (get returns null when absent)', () => {
    const t = table();
    const req = (h: Record<string, string>) => ({ authority: 'reviews', path: '/api/x', method: 'GET', isGrpc: false, headers: new Headers(h) });
    expect(t.match(req({ 'x-canary': 'yes' }))?.route.route.route?.cluster).toBe('canary');
    expect(t.match(req({}))?.route.route.route?.cluster).toBe('api');
  });

  describe('gRPC paths remembered per virtual host (GrpcPathRoutes)', () => {
    const grpcTable = () =>
      RouteTable.compile(
        routeConfig([
          vhost('svc', ['svc'], [
            route({ path: '/pkg.S/Exact' }, { cluster: 'exact' }),
            route({ prefix: '/pkg.S/', grpc: true }, { cluster: 'grpc-only' }),
            route({ safe_regex: { regex: '/pkg\\.T/[A-Z][a-z]+' } }, { cluster: 'regex' }),
          ]),
          vhost('headers', ['headers'], [route({ prefix: '/', headers: [{ name: 'x-v', exact_match: '2', invert_match: false }] }, { cluster: 'v2' }), route({ prefix: '/' })]),
          vhost('fraction', ['fraction'], [route({ prefix: '/', runtime_fraction: { default_value: { numerator: 50, denominator: 'HUNDRED' } } }, { cluster: 'half' })]),
        ]),
      );
    const cluster = (t: RouteTable, path: string, opts: Parameters<typeof request>[1]) => t.match(request(path, opts))?.route.route.route?.cluster;

    it('gives what matching gives, on the first and every later call for a path', () => {
      const t = grpcTable();
      for (let round = 0; round < 3; round++) {
        expect(cluster(t, '/pkg.S/Exact', { authority: 'svc', isGrpc: true })).toBe('exact');
        expect(cluster(t, '/pkg.S/Other', { authority: 'svc', isGrpc: true })).toBe('grpc-only');
        expect(cluster(t, '/pkg.T/Echo', { authority: 'svc', isGrpc: true })).toBe('regex');
        expect(cluster(t, '/pkg.T/echo', { authority: 'svc', isGrpc: true })).toBeUndefined();
        // A non-gRPC request with the same path is matched, never answered from the gRPC paths.
        expect(cluster(t, '/pkg.S/Other', { authority: 'svc', isGrpc: false })).toBeUndefined();
      }
    });

    it('remembers at most GRPC_PATHS_REMEMBERED paths, forgetting the oldest first, and still matches every path', () => {
      const t = grpcTable();
      const paths = t.selectVirtualHost('svc')!.grpcPaths!;
      const many = Array.from({ length: GRPC_PATHS_REMEMBERED + 10 }, (_, i) => `/pkg.S/M${i}`);
      for (const p of many) expect(cluster(t, p, { authority: 'svc', isGrpc: true })).toBe('grpc-only');
      expect(paths.size).toBe(GRPC_PATHS_REMEMBERED);
      // The first ten went; the last ones stay, answered as matching answers.
      expect(paths.get(many[0]!)).toBeUndefined();
      expect(paths.get(many[9]!)).toBeUndefined();
      expect(paths.get(many[10]!)).toBeDefined();
      expect(paths.get(many.at(-1)!)).toBeDefined();
      expect(cluster(t, '/pkg.S/Exact', { authority: 'svc', isGrpc: true })).toBe('exact');
      expect(paths.size).toBe(GRPC_PATHS_REMEMBERED);
      expect(paths.get(many[10]!)).toBeUndefined();
    });

    it('is made only for virtual hosts whose routes read the path alone', () => {
      const t = grpcTable();
      expect(t.selectVirtualHost('svc')?.grpcPaths).toBeDefined();
      expect(t.selectVirtualHost('headers')?.grpcPaths).toBeUndefined();
      expect(t.selectVirtualHost('fraction')?.grpcPaths).toBeUndefined();
      // Header conditions are still evaluated per call.
      expect(cluster(t, '/x', { authority: 'headers', isGrpc: true, headers: { 'x-v': '2' } })).toBe('v2');
      expect(cluster(t, '/x', { authority: 'headers', isGrpc: true })).toBe('default');
    });
  });
});
