import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { translateMesh } from '../src/istio/index.js';
import type { ProxyConfigView } from '../src/proxyconfig/index.js';
import { AdsServer } from '../src/server/index.js';
import { ensureBuiltCli, runCli } from './helpers/builtCli.js';

/** An Istio config with every part proxy-config prints: a header route, a weighted split, retries, a timeout, a fault, breakers and outlier detection. */
const MESH = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [reviews.shop.local]
  location: MESH_INTERNAL
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints:
    - { address: 127.0.0.1, ports: { http: 19081 }, labels: { version: v1 }, locality: us-east/us-east-1a, weight: 3 }
    - { address: 127.0.0.2, ports: { http: 19082 }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews.shop.local
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 100 }
      http: { http1MaxPendingRequests: 10, maxRetries: 5 }
    outlierDetection: { consecutive5xxErrors: 3, interval: 2s, baseEjectionTime: 15s, maxEjectionPercent: 50 }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews.shop.local]
  http:
    - name: jason
      match: [{ headers: { end-user: { exact: jason } }, uri: { prefix: /reviews } }]
      route: [{ destination: { host: reviews.shop.local, subset: v2 } }]
      fault: { abort: { httpStatus: 503, percentage: { value: 50 } } }
    - name: split
      route:
        - { destination: { host: reviews.shop.local, subset: v1 }, weight: 80 }
        - { destination: { host: reviews.shop.local, subset: v2 }, weight: 20 }
      retries: { attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,connect-failure" }
      timeout: 4s
`;
const TARGET = 'reviews.shop.local:9080';
const V1 = 'outbound|9080|v1|reviews.shop.local';
const V2 = 'outbound|9080|v2|reviews.shop.local';

const dir = mkdtempSync(join(tmpdir(), 'meshlet-proxy-config-'));
const meshFile = join(dir, 'mesh.yaml');
writeFileSync(meshFile, MESH);
const NODE_ID = 'sidecar~10.0.0.7~app-1.shop~shop.svc.cluster.local';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => ensureBuiltCli(), 180_000);

async function startServer(): Promise<{ server: AdsServer; bootstrap: string }> {
  const server = new AdsServer();
  server.setSnapshot(translateMesh(MESH));
  const { port } = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  const bootstrap = join(dir, `bootstrap-${port}.json`);
  writeFileSync(
    bootstrap,
    JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: NODE_ID, metadata: { GENERATOR: 'grpc', NAMESPACE: 'shop' } },
    }),
  );
  return { server, bootstrap };
}

/** What both sources must show for the target, in the text form. */
function expectText(stdout: string): void {
  const lines = stdout.split('\n');
  expect(lines[0]).toMatch(new RegExp(`^Target ${TARGET.replace(/\./g, '\\.')}  \\(`));
  expect(stdout).toContain(`LISTENER\n  ${TARGET}\n    route config: outbound|9080||reviews.shop.local (RDS)\n    http filters: envoy.filters.http.fault, envoy.filters.http.router`);
  expect(stdout).toContain('ROUTES outbound|9080||reviews.shop.local');
  expect(stdout).toMatch(/virtual host reviews\.shop\.local:9080  domains: reviews\.shop\.local/);
  expect(stdout).toContain('route "jason"  match: prefix=/reviews header end-user=jason');
  expect(stdout).toContain(`      -> ${V2}\n`);
  expect(stdout).toMatch(/fault abort 503 50%/);
  expect(stdout).toContain('route "split"  match: prefix=/');
  expect(stdout).toContain(`      -> weighted: ${V1} 80% (weight 80), ${V2} 20% (weight 20)`);
  expect(stdout).toContain('timeout 4s  retries 3 on 5xx,connect-failure (per try 500ms; hosts previous_hosts)');
  // Clusters: one table row per cluster the routes name.
  const v1Row = lines.find((l) => l.startsWith(`${V1} `))!;
  expect(v1Row).toMatch(/\bEDS\b/);
  expect(v1Row).toContain('conn=100 pending=10');
  expect(v1Row).toContain('retries=5');
  expect(v1Row).toContain('5xx=3 gw=5 interval=2s base=15s max=300s max%=50');
  expect(lines.some((l) => l.startsWith(`${V2} `))).toBe(true);
  // Endpoints: address, health, outlier state, weight, locality, priority, cluster.
  expect(stdout).toMatch(/ENDPOINT\s+STATUS\s+OUTLIER CHECK\s+WEIGHT\s+LOCALITY\s+PRIORITY\s+CLUSTER/);
  expect(stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:19081\\s+HEALTHY\\s+OK\\s+3\\s+us-east/us-east-1a/\\s+0\\s+${V1.replace(/\|/g, '\\|')}`));
  expect(stdout).toMatch(/127\.0\.0\.2:19082\s+HEALTHY\s+OK\s+1\s+-\s+0\s+outbound\|9080\|v2\|/);
}

function expectJson(view: ProxyConfigView): void {
  expect(view.target).toBe(TARGET);
  expect(view.listener).toMatchObject({ name: TARGET, rds: true, route_config_name: 'outbound|9080||reviews.shop.local' });
  const [vh] = view.route_config.virtual_hosts;
  expect(vh!.routes.map((r) => r.name)).toEqual(['jason', 'split']);
  expect(vh!.routes[0]).toMatchObject({ match: 'prefix=/reviews header end-user=jason', action: { kind: 'cluster', cluster: V2 }, fault: 'abort 503 50%' });
  expect(vh!.routes[1]).toMatchObject({
    action: { kind: 'weighted_clusters', clusters: [{ name: V1, weight: 80, percent: 80 }, { name: V2, weight: 20, percent: 20 }] },
    timeout_ms: 4000,
    retry: { retry_on: ['5xx', 'connect-failure'], num_retries: 3, per_try_timeout_ms: 500 },
  });
  expect(view.clusters.map((c) => c.name).sort()).toEqual([V1, V2]);
  expect(view.clusters.find((c) => c.name === V1)).toMatchObject({
    found: true,
    type: 'EDS',
    circuit_breakers: { max_connections: 100, max_pending_requests: 10, max_retries: 5 },
    outlier_detection: { consecutive_5xx: 3, interval_ms: 2000, base_ejection_time_ms: 15_000, max_ejection_percent: 50 },
  });
  expect(view.endpoints).toContainEqual({ cluster: V1, address: '127.0.0.1:19081', health: 'HEALTHY', ejected: false, weight: 3, locality: 'us-east/us-east-1a/', priority: 0 });
  expect(view.endpoints).toContainEqual(expect.objectContaining({ cluster: V2, address: '127.0.0.2:19082' }));
}

describe('meshlet proxy-config against a real AdsServer (--bootstrap)', () => {
  it('prints listener, routes, clusters and endpoints as the bootstrap node resolves them', async () => {
    const { server, bootstrap } = await startServer();
    const nodes: string[] = [];
    server.events.on('request', (e: { node?: { id?: string } }) => e.node?.id && nodes.push(e.node.id));
    const r = await runCli(['proxy-config', TARGET, '--bootstrap', bootstrap]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectText(r.stdout);
    expect(r.stdout).toContain(`(xDS server 127.0.0.1:`);
    expect(r.stdout).toContain(`as node ${NODE_ID})`);
  });

  it('--json prints the same view as JSON', async () => {
    const { bootstrap } = await startServer();
    const r = await runCli(['proxy-config', TARGET, '--bootstrap', bootstrap, '--json']);
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as ProxyConfigView;
    expectJson(view);
    expect(view.source).toMatch(/^xDS server 127\.0\.0\.1:\d+ as node sidecar~/);
  });

  it('a target the server does not have: exit 1 with the reason, within the bounded wait', async () => {
    const { bootstrap } = await startServer();
    const started = Date.now();
    const r = await runCli(['proxy-config', 'ratings.shop.local:9080', '--bootstrap', bootstrap, '--timeout', '1000']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/meshlet: target ratings\.shop\.local:9080 does not resolve from xDS server 127\.0\.0\.1:\d+ as node .*: no listener "ratings\.shop\.local:9080"/);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('an unreachable xDS server: exit 1 naming the stream error', async () => {
    const bootstrap = join(dir, 'unreachable.json');
    // Port 1 on loopback: nothing listens there.
    writeFileSync(bootstrap, JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } }));
    const r = await runCli(['proxy-config', TARGET, '--bootstrap', bootstrap, '--timeout', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not resolve from xDS server 127\.0\.0\.1:1 .*last error: ADS stream to 127\.0\.0\.1:1 ended: UNAVAILABLE/);
  });

  it('a bad bootstrap: exit 1 with the bootstrap error', async () => {
    const bootstrap = join(dir, 'bad.json');
    writeFileSync(bootstrap, JSON.stringify({ xds_servers: [] }));
    const r = await runCli(['proxy-config', TARGET, '--bootstrap', bootstrap]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`invalid xDS bootstrap from file ${bootstrap}: xds_servers`);
  });
});

describe('meshlet proxy-config on the embedded default (--mesh)', () => {
  it('prints the same sections from a mesh.yaml, no control plane', async () => {
    const r = await runCli(['proxy-config', TARGET, '--mesh', meshFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectText(r.stdout);
    expect(r.stdout.split('\n')[0]).toBe(`Target ${TARGET}  (mesh file ${meshFile})`);
  });

  it('--json', async () => {
    const r = await runCli(['proxy-config', TARGET, '--mesh', meshFile, '--json']);
    expect(r.code).toBe(0);
    expectJson(JSON.parse(r.stdout) as ProxyConfigView);
  });

  it('an unknown target exits 1 at once', async () => {
    const r = await runCli(['proxy-config', 'nope.shop.local:80', '--mesh', meshFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('meshlet: target nope.shop.local:80 does not resolve from mesh file');
    expect(r.stderr).toContain('no listener "nope.shop.local:80"');
  });

  it('usage errors exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['proxy-config', TARGET], /usage:/],
      [['proxy-config', TARGET, '--mesh', 'a', '--bootstrap', 'b'], /usage:/],
      [['proxy-config', 'reviews.shop.local', '--mesh', 'm.yaml'], /target must be host:port/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
  });

  it('the existing commands still work', async () => {
    const r = await runCli(['validate', meshFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${meshFile}: ok`);
  });
});
