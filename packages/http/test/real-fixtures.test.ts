import { describe, expect, it } from 'vitest';
import { request, type Dispatcher } from 'undici';
import {
  ClusterLoadAssignmentResource,
  ClusterResource,
  ListenerResource,
  RouteConfigurationResource,
  StaticResourceSource,
  fromProto3Json,
  type ResourceType,
} from '@meshlet/xds-client';
import { extractResources, loadFixture, TYPE_URLS, type ExtractedResource } from '../../xds-client/test/helpers/fixture-extract.js';
import type { Backend } from './helpers/backends.js';
import { lbEndpoint } from './helpers/meshConfig.js';
import { meshHarness, type Reply } from './helpers/harness.js';

/**
 * Real control-plane output (../shared/fixtures/xds-real: OSM, istiod, Envoy Gateway) loaded into
 * the mesh and driven by real traffic. Route configurations and cluster settings are used as the
 * control plane emitted them; only listeners (the client-side entry) and endpoints are ours, so the
 * clusters point at loopback backends.
 */
const { setup, many } = meshHarness();

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function fixture(file: string, typeUrl: string, name: string): Record<string, unknown> {
  const all: ExtractedResource[] = extractResources(file, loadFixture(file));
  const found = all.find((r) => r.typeUrl === typeUrl && r.name === name);
  if (!found) throw new Error(`${file}: no ${typeUrl} named ${name}`);
  return found.json;
}

const decode = (typeUrl: string, json: Record<string, unknown>) => fromProto3Json(typeUrl, json);

function put<T>(source: StaticResourceSource, type: ResourceType<T>, typeUrl: string, objects: Record<string, unknown>[]): void {
  source.replaceFromObjects(type, objects.map((o) => decode(typeUrl, o)));
}

interface FixtureMesh {
  /** Listener names (`host:port`) routed by RDS to `routeConfig`. */
  readonly targets: string[];
  /** A route configuration from a fixture, untouched. */
  readonly routeConfig: Record<string, unknown>;
  /** Clusters (fixture or synthesized) with their loopback endpoints, served over EDS. */
  readonly clusters: Array<{ cluster: Record<string, unknown>; ports: number[] }>;
}

/**
 * Serves a fixture's route configuration and clusters. Clusters become EDS clusters (their
 * eds service_name / inline load_assignment replaced by ours); every other field is kept.
 */
function load(source: StaticResourceSource, mesh: FixtureMesh): void {
  const routeName = String(mesh.routeConfig['name']);
  const clusters = mesh.clusters.map(({ cluster }) => {
    const { load_assignment: _la, loadAssignment: _la2, eds_cluster_config: _e, edsClusterConfig: _e2, ...rest } = cluster;
    const name = String(cluster['name']);
    return { ...rest, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: name } };
  });
  put(
    source,
    ClusterLoadAssignmentResource,
    TYPE_URLS.ClusterLoadAssignment,
    mesh.clusters.map(({ cluster, ports }) => ({ cluster_name: String(cluster['name']), endpoints: [{ lb_endpoints: ports.map((p) => lbEndpoint(p)) }] })),
  );
  put(source, ClusterResource, TYPE_URLS.Cluster, clusters);
  put(source, RouteConfigurationResource, TYPE_URLS.RouteConfiguration, [mesh.routeConfig]);
  put(
    source,
    ListenerResource,
    TYPE_URLS.Listener,
    mesh.targets.map((t) => ({
      name: t,
      api_listener: {
        api_listener: { '@type': HCM, rds: { route_config_name: routeName, config_source: { ads: {} } }, http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }] },
      },
    })),
  );
}

async function call(origin: string, dispatcher: Dispatcher, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(`${origin}${path}`, { dispatcher, headers });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

function tally(rs: Reply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) out[r.body] = (out[r.body] ?? 0) + 1;
  return out;
}

describe('real xDS fixtures drive real traffic', () => {
  it('OSM bookstore: weighted_clusters 50/50 with total_weight 100 splits 400 requests within ±40 (4 sd)', async () => {
    const { backends, source, dispatcher } = await setup(2);
    const routeConfig = fixture('osm-bookstore-sidecar-config-dump.json', TYPE_URLS.RouteConfiguration, 'rds-outbound');
    const vh = (routeConfig['virtual_hosts'] as Array<Record<string, unknown>>)[0]!;
    const wc = ((vh['routes'] as Array<Record<string, Record<string, unknown>>>)[0]!['route']!['weighted_clusters']) as Record<string, unknown>;
    expect(wc['total_weight']).toBe(100); // the field under test is really there
    load(source, {
      targets: ['bookstore.bookstore:14001'],
      routeConfig,
      clusters: [
        { cluster: { name: 'bookstore/bookstore-v1', connect_timeout: '1s' }, ports: [backends[0]!.port] },
        { cluster: { name: 'bookstore/bookstore-v2', connect_timeout: '1s' }, ports: [backends[1]!.port] },
      ],
    });
    const rs = await many(400, 20, () => call('http://bookstore.bookstore:14001', dispatcher, '/books-bought', { 'user-agent': 'bookbuyer' }));
    const t = tally(rs);
    expect(t.b0! + t.b1!).toBe(400);
    // Binomial(400, 0.5): sd 10.
    expect(Math.abs(t.b0! - 200)).toBeLessThanOrEqual(40);
  });

  it('Istio bookinfo: the sidecar retry policy (retriable_status_codes 503, previous_hosts, num_retries 2) retries a real 503', async () => {
    const { backends, source, dispatcher } = await setup(3);
    const file = 'istio-sidecar-bookinfo-routes-clusters-dump.json';
    const routeConfig = fixture(file, TYPE_URLS.RouteConfiguration, 'http.8080');
    // The route names outbound|9080||productpage...; the dump holds the v1 subset cluster: same settings, renamed.
    const cluster = { ...fixture(file, TYPE_URLS.Cluster, 'outbound|9080|v1|productpage.default.svc.cluster.local'), name: 'outbound|9080||productpage.default.svc.cluster.local' };
    const [bad, good, other] = backends as [Backend, Backend, Backend];
    bad.behave((_q, res) => res.writeHead(503).end('unavailable'));
    load(source, { targets: ['productpage.default.svc.cluster.local:9080'], routeConfig, clusters: [{ cluster, ports: [bad.port, good.port] }] });
    const origin = 'http://productpage.default.svc.cluster.local:9080';

    // previous_hosts is best-effort in Envoy: a pick it rejects is redone at most
    // host_selection_retry_max_attempts (5) times, then the last pick stands. With P2C over two
    // hosts a pick lands on the fast-failing host with probability p <= 3/4 (it can only win a draw
    // it is in), so a retry still reaches it with probability <= p^6 <= 0.18, and a request ends 503
    // (all three attempts there) with probability <= p^13 <= 0.024. Without the predicate a retry
    // would land there with probability >= 1/4 only when it is busier, about p otherwise.
    // So: exact per-request checks, plus stated bounds over 120 requests.
    const n = 120;
    const rs = await many(n, 4, (i) => call(origin, dispatcher, `/productpage?i=${i}`));
    const attemptsOn = (b: Backend, i: number) => b.seen.filter((s) => s.path === `/productpage?i=${i}`);
    let failed = 0;
    let retries = 0;
    let retriesOnBad = 0;
    for (const [i, r] of rs.entries()) {
      const onBad = attemptsOn(bad, i);
      const onGood = attemptsOn(good, i);
      if (r.status === 200) {
        // Ended on the good host, once; every attempt before it hit the 503 host and was retried.
        expect(r.body).toBe('b1');
        expect(onGood).toHaveLength(1);
        expect(onBad.length).toBeLessThanOrEqual(2);
      } else {
        // num_retries 2: the 503 is returned as is only once all three attempts got it.
        expect(r).toMatchObject({ status: 503, body: 'unavailable' });
        expect(onBad).toHaveLength(3);
        expect(onGood).toHaveLength(0);
        failed++;
      }
      // include_request_attempt_count: attempts are numbered; every attempt after the first is a retry.
      for (const s of [...onBad, ...onGood]) {
        const count = Number(s.headers['x-envoy-attempt-count']);
        expect(count).toBeGreaterThanOrEqual(1);
        if (count > 1) {
          retries++;
          if (onBad.includes(s)) retriesOnBad++;
        }
      }
    }
    expect(bad.seen.length).toBeGreaterThan(0); // LEAST_REQUEST did send first attempts there
    expect(good.seen).toHaveLength(n - failed);
    // Mean failures <= 2.9 of 120 (p^13); 10 or more has probability < 1e-3 (Poisson).
    expect(failed).toBeLessThan(10);
    // Retries number about n * p (>= 30 here); at most 18% should reach the 503 host again; 40% is
    // over 3.5 sd above that at 30 retries, while without previous_hosts about p (>= 50%) would.
    expect(retries).toBeGreaterThanOrEqual(20);
    expect(retriesOnBad / retries).toBeLessThan(0.4);

    // All hosts failing: 1 + num_retries (2) attempts, then the last 503 is returned as is.
    good.behave((_q, res) => res.writeHead(503).end('unavailable'));
    other.behave((_q, res) => res.writeHead(503).end('unavailable'));
    load(source, { targets: ['productpage.default.svc.cluster.local:9080'], routeConfig, clusters: [{ cluster, ports: [bad.port, good.port, other.port] }] });
    const before = bad.seen.length + good.seen.length + other.seen.length;
    const r = await call(origin, dispatcher, '/productpage');
    expect(r).toMatchObject({ status: 503, body: 'unavailable' });
    expect(bad.seen.length + good.seen.length + other.seen.length - before).toBe(3);

    // 500 is not in retriable_status_codes and retry_on has no 5xx: not retried.
    for (const b of [bad, good, other]) b.behave((_q, res) => res.writeHead(500).end('boom'));
    const before2 = bad.seen.length + good.seen.length + other.seen.length;
    expect((await call(origin, dispatcher, '/static/app.js')).status).toBe(500);
    expect(bad.seen.length + good.seen.length + other.seen.length - before2).toBe(1);
  });

  it('Envoy Gateway retry routes: ignore_port_in_host_matching, per-vhost retry policies (retriable 500 vs 503)', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const file = 'envoy-gateway-retry.routes.yaml';
    const routeConfig = fixture(file, TYPE_URLS.RouteConfiguration, 'first-listener');
    const b = backends[0]!;
    load(source, { targets: ['gw.test:8080', 'foo:8080'], routeConfig, clusters: [{ cluster: { name: 'first-route-dest', connect_timeout: '1s' }, ports: [b.port] }] });

    // vhost "*" (first-route): retriable_status_codes [500], num_retries 3 -> 4 attempts.
    b.behave((_q, res) => res.writeHead(500).end('e500'));
    expect((await call('http://gw.test:8080', dispatcher, '/')).status).toBe(500);
    expect(b.seen).toHaveLength(4);

    // vhost "foo" matched on "foo:8080" because of ignore_port_in_host_matching: 500 is not retriable there...
    b.seen.length = 0;
    expect((await call('http://foo:8080', dispatcher, '/')).status).toBe(500);
    expect(b.seen).toHaveLength(1);
    // ...503 is, num_retries 2 -> 3 attempts.
    b.seen.length = 0;
    b.behave((_q, res) => res.writeHead(503).end('e503'));
    expect((await call('http://foo:8080', dispatcher, '/')).status).toBe(503);
    expect(b.seen).toHaveLength(3);
  });

  // Envoy's DetectorImpl::ejectHost counts the ejection being decided: (0 + 1) / 3 = 33% > 10%, so
  // this cluster as Envoy Gateway sent it ejects nothing; always_eject_one_host lets the first go.
  it.each([
    ['as sent: max_ejection_percent 10 of 3 hosts ejects none', false],
    ['with always_eject_one_host: the 502 host goes after four 502s, the 500 host stays (the cap)', true],
  ])('Envoy Gateway traffic settings (gateway failures 4, 5xx 5, max_ejection_percent 10), %s', async (_label, alwaysEjectOne) => {
    const { backends, source, dispatcher } = await setup(3);
    const { typedExtensionProtocolOptions, ...cluster } = fixture('envoy-gateway-traffic-settings-outlier-cb.clusters.yaml', TYPE_URLS.Cluster, 'envoyextensionpolicy/default/policy-for-http-route/0');
    // Its explicit http2_protocol_options make Meshlet speak h2c, as Envoy would; our backends are HTTP/1.1.
    expect(typedExtensionProtocolOptions).toBeDefined();
    const od = cluster['outlierDetection'] as Record<string, unknown>;
    expect(od).toMatchObject({ consecutiveGatewayFailure: 4, enforcingConsecutiveGatewayFailure: 100, consecutive5xx: 5, maxEjectionPercent: 10 });
    if (alwaysEjectOne) cluster['outlierDetection'] = { ...od, alwaysEjectOneHost: true };
    const [ok, gw, err] = backends as [Backend, Backend, Backend];
    gw.behave((_q, res) => res.writeHead(502).end('gw'));
    err.behave((_q, res) => res.writeHead(500).end('err'));
    load(source, {
      targets: ['policy.test:80'],
      routeConfig: { name: 'policy-route', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: String(cluster['name']) } }] }] },
      clusters: [{ cluster, ports: [ok.port, gw.port, err.port] }],
    });
    const rs = await many(60, 1, () => call('http://policy.test:80', dispatcher, '/'));
    const t = tally(rs.slice(30));
    if (alwaysEjectOne) {
      expect(gw.seen).toHaveLength(4);
      expect(t.gw).toBeUndefined();
    } else {
      // Round robin over three hosts, none ejected.
      expect(gw.seen).toHaveLength(20);
      expect(t.gw).toBeGreaterThan(0);
    }
    // The 500 host reaches consecutive_5xx 5 several times but is never ejected: the cap.
    expect(t.err).toBeGreaterThan(0);
    expect(t.b0).toBeGreaterThan(0);
    expect(ok.seen.length + gw.seen.length + err.seen.length).toBe(60);
  });
});
