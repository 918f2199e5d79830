import { describe, expect, it } from 'vitest';
import type { Cluster } from '@meshlet/xds-client';
import { describeCluster } from '../src/proxyconfig/clusterDescriptions.js';
import { formatProxyConfig } from '../src/proxyconfig/formatProxyConfig.js';
import type { ProxyConfigView, RouteView } from '../src/proxyconfig/ProxyConfigView.js';

const cluster = (extra: Partial<Cluster>): Cluster =>
  ({ name: 'c', type: 'EDS', lb_policy: { policy: 'ROUND_ROBIN' }, transport_socket_matches: [], protocol: 'HTTP1', ...extra }) as Cluster;

const view = (routes: RouteView[], c: Cluster): ProxyConfigView => ({
  target: 't:80',
  source: 'test',
  listener: { name: 't:80', route_config_name: 'rc', rds: true, http_filters: [] },
  route_config: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes }] },
  clusters: [describeCluster('c', c)],
  endpoints: [],
});

describe('proxy-config view: what decides an ejection and a route\'s breakers', () => {
  it('outlier detection: max_ejection_time defaults to max(300 s, base_ejection_time); always_eject_one_host shown (default false)', () => {
    expect(describeCluster('c', cluster({ outlier_detection: { base_ejection_time: 400_000 } })).outlier_detection).toMatchObject({
      max_ejection_time_ms: 400_000,
      max_ejection_percent: 10,
      always_eject_one_host: false,
    });
    const text = formatProxyConfig(view([], cluster({ outlier_detection: { always_eject_one_host: true } })));
    expect(text).toContain('max%=10 always_eject_one_host');
    expect(formatProxyConfig(view([], cluster({ outlier_detection: {} })))).not.toContain('always_eject_one_host');
  });

  it('a HIGH route says so (its requests use the cluster\'s HIGH thresholds)', () => {
    const route: RouteView = { match: 'prefix=/', action: { kind: 'cluster', cluster: 'c' }, priority: 'HIGH' };
    expect(formatProxyConfig(view([route], cluster({})))).toContain('priority HIGH');
  });
});
