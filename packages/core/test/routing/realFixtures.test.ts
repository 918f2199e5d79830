import { describe, expect, it } from 'vitest';
import type { RouteConfiguration } from '@meshlet/xds-client';
import { fromProto3Json, RouteConfigurationResource } from '../../../xds-client/src/resources/index.js';
import { allFixtureResources, TYPE_URLS } from '../../../xds-client/test/helpers/fixture-extract.js';
import { RouteTable } from '../../src/routing/index.js';
import { request } from './builders.js';

/** Every RouteConfiguration in /work/shared/fixtures/xds-real, decoded by the xds-client resource decoder. */
function realRouteConfigs(): { file: string; config: RouteConfiguration }[] {
  return allFixtureResources()
    // Unnamed route configs (e.g. dump entries without a name) are not valid RDS resources.
    .filter((r) => r.typeUrl === TYPE_URLS.RouteConfiguration && r.name !== '')
    .map((r) => ({ file: r.file, config: RouteConfigurationResource.fromObject(fromProto3Json('envoy.config.route.v3.RouteConfiguration', r.json)).resource }));
}

describe('real control-plane route configurations', () => {
  const configs = realRouteConfigs();

  it('finds route configurations in the fixtures', () => {
    expect(configs.length).toBeGreaterThan(3);
  });

  it('compiles every one and every route matches a request built from its own match', () => {
    for (const { file, config } of configs) {
      const table = RouteTable.compile(config);
      for (const vh of table.virtualHosts) {
        const domain = vh.virtualHost.domains.find((d) => !d.includes('*')) ?? 'anything.example';
        expect(table.selectVirtualHost(domain), `${file} ${config.name} ${domain}`).toBe(table.selectVirtualHost(domain));
        for (const r of vh.routes) {
          const m = r.route.match;
          if (m.prefix === undefined && m.path === undefined) continue;
          const p = m.path ?? (m.prefix === '' ? '/' : m.prefix!);
          const picked = r.clusterPicker?.pick(0.5, request(p).headers);
          if (r.action === 'route' && r.route.route?.cluster_header === undefined) expect(picked?.name, `${file} ${config.name}`).toBeTruthy();
        }
      }
    }
  });

  it('routes Istio bookinfo requests like the sidecar would (http.8080, virtual host "*:80")', () => {
    const istio = configs.find((c) => c.file.startsWith('istio-sidecar-bookinfo'));
    expect(istio?.config.name).toBe('http.8080');
    const table = RouteTable.compile(istio!.config);
    const at = (path: string) => table.match(request(path, { authority: 'productpage.default.svc.cluster.local:9080' }));
    expect(at('/productpage')?.virtualHost.name).toBe('*:80');
    expect(at('/productpage')?.route.route.match.path).toBe('/productpage');
    expect(at('/productpage?u=normal')?.route.route.match.path).toBe('/productpage');
    expect(at('/static/css/app.css')?.route.route.match.prefix).toBe('/static');
    expect(at('/api/v1/products/1/reviews')?.route.route.match.prefix).toBe('/api/v1/products');
    // path is exact: /login/x is not /login
    expect(at('/login/x')?.route.route.match.path).not.toBe('/login');
    const r = at('/productpage')!.route;
    expect(r.clusterPicker?.pick(0, request('/').headers)?.name).toBe(r.route.route?.cluster);
    expect(r.route.route?.retry_policy?.num_retries).toBeGreaterThan(0);
  });

  it('picks Envoy Gateway weighted backends in proportion to their weights', () => {
    const eg = configs.find((c) => c.file.includes('weighted-backend'));
    expect(eg).toBeDefined();
    const table = RouteTable.compile(eg!.config);
    const weighted = table.virtualHosts.flatMap((v) => v.routes).find((r) => r.route.route?.weighted_clusters !== undefined);
    expect(weighted).toBeDefined();
    const clusters = weighted!.route.route!.weighted_clusters!.clusters.filter((c) => c.weight > 0);
    const total = clusters.reduce((s, c) => s + c.weight, 0);
    // Sweep the random value uniformly: each cluster owns exactly weight/total of [0,1).
    const n = 10_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const name = weighted!.clusterPicker!.pick((i + 0.5) / n, request('/').headers)!.name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    for (const c of clusters) expect(Math.abs((counts.get(c.name) ?? 0) / n - c.weight / total)).toBeLessThan(0.001);
  });
});
