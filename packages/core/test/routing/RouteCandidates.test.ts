import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { RouteMatch } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { request, route, routeConfig, vhost } from './builders.js';

// Paths and rules over a small alphabet, so that routes often share or differ in their second character.
const char = fc.constantFrom(...'abAB/1é?'.split(''));
const path = fc.array(char, { maxLength: 8 }).map((cs) => `/${cs.join('')}`);
const rule = fc.array(fc.constantFrom(...'abAB/1é'.split('')), { maxLength: 5 }).map((cs) => `/${cs.join('')}`);
const match: fc.Arbitrary<RouteMatch> = fc.oneof(
  fc.record({ prefix: fc.oneof(rule, fc.constant(''), fc.constant('/')), case_sensitive: fc.boolean() }),
  fc.record({ path: rule, case_sensitive: fc.boolean() }),
  rule.filter((r) => r.length > 1 && !r.endsWith('/')).map((r) => ({ path_separated_prefix: r })),
  fc.constantFrom('/a[0-9]*', '/ab.*', '/[ab].*', '(?i)/ab.*', '/b|/a.*', '/é.*').map((regex) => ({ safe_regex: { regex } })),
) as fc.Arbitrary<RouteMatch>;

describe("RouteCandidates: routes tried by the path's second character", () => {
  it('the first match is the first route of the list that matches on its own (first match wins, whatever the lists leave out)', () => {
    fc.assert(
      fc.property(fc.array(match, { minLength: 1, maxLength: 12 }), fc.array(path, { minLength: 1, maxLength: 6 }), (matches, paths) => {
        const routes = matches.map((m, i) => route(m as never, { cluster: `c${i}` }));
        const table = RouteTable.compile(routeConfig([vhost('v', ['*'], routes)]));
        const alone = routes.map((r) => RouteTable.compile(routeConfig([vhost('v', ['*'], [r])])));
        for (const p of paths) {
          const expected = alone.findIndex((t) => t.match(request(p)) !== undefined);
          const got = table.match(request(p));
          expect(got === undefined ? -1 : table.virtualHosts[0]!.routes.indexOf(got.route)).toBe(expected);
        }
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it('a virtual host of distinct prefixes tries only the routes a path can match', () => {
    const prefixes = ['/ratings/', '/details/', '/productpage/', '/static/', '/login', '/logout', '/healthz'];
    const table = RouteTable.compile(routeConfig([vhost('v', ['*'], [route({ prefix: '/', headers: [] }), ...prefixes.map((p) => route({ prefix: p })), route({ prefix: '/' })])]));
    const candidates = table.virtualHosts[0]!.candidates!;
    expect(candidates.for('/reviews/1', 10)).toEqual([0, 1, 8]);
    expect(candidates.for('/login?x', 6)).toEqual([0, 5, 6, 8]);
    expect(candidates.for('/', 1)).toEqual([0, 8]);
    expect(candidates.for('/\u00e9', 2)).toBeUndefined(); // every route
  });

  it('keeps no list for a character most routes start with: such paths try every route directly', () => {
    const routes = Array.from({ length: 20 }, (_, i) => route({ prefix: `/api/svc${i}/` }));
    expect(RouteTable.compile(routeConfig([vhost('v', ['*'], routes)])).virtualHosts[0]!.candidates).toBeUndefined();
    const mostly = RouteTable.compile(routeConfig([vhost('v', ['*'], [...routes, route({ prefix: '/b' }), route({ prefix: '/c' })])])).virtualHosts[0]!.candidates!;
    expect(mostly.for('/api/svc3/', 10)).toBeUndefined();
    expect(mostly.for('/b', 2)).toEqual([20]);
  });

  it('is left out when its lists would hold more than four indices per route (many routes in every list)', () => {
    const keyed = Array.from({ length: 60 }, (_, i) => route({ prefix: `/${String.fromCharCode(48 + i)}x` }));
    const unkeyed = Array.from({ length: 10 }, () => route({ prefix: '/' }));
    expect(RouteTable.compile(routeConfig([vhost('v', ['*'], [...unkeyed, ...keyed])])).virtualHosts[0]!.candidates).toBeUndefined();
    expect(RouteTable.compile(routeConfig([vhost('v', ['*'], [unkeyed[0]!, ...keyed])])).virtualHosts[0]!.candidates).toBeDefined();
  });
});
