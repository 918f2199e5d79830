import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdsServer, type AdsAckEvent } from '@meshlet/control-plane';
import { Mesh } from '@meshlet/core';
import { XdsClient, encodeAny, silentLogger } from '@meshlet/xds-client';
import { createMeshChannel } from '@meshlet/grpc';
import { deadPort } from './helpers/backends.js';
import { GREETER, GreeterClientConstructor, ROUTER, call, greeterImplementation, rbacFilter, serverListener, until, type GreeterClient } from './serverFixtures.js';

/**
 * Issue 4 interop, the other direction: a Meshlet client (createMeshChannel over Meshlet's own
 * XdsClient) calls two unmodified @grpc/grpc-js-xds `XdsServer`s. One AdsServer configures all
 * three: the servers get istiod-shaped inbound Listeners `xds.istio.io/grpc/lds/inbound/127.0.0.1:PORT`
 * (NonForwardingAction route, RBAC denying Admin), the client the outbound listener `host:port`,
 * RDS `outbound|PORT||HOST` with an 80/20 weighted route, and one EDS cluster per server.
 *
 * grpc-js-xds keeps process-global state (its singleton xDS client, registered resolver and
 * filters, env flags read at load), so this file imports it dynamically after setting its env;
 * vitest's forks pool runs each file in its own process.
 */
const HOST = 'greeter.interop.test';
const SERVICE_PORT = 50051;
const OUTBOUND = `${HOST}:${SERVICE_PORT}`;
const ROUTE = `outbound|${SERVICE_PORT}||${HOST}`;
const CLUSTER_A = `outbound|${SERVICE_PORT}|a|${HOST}`;
const CLUSTER_B = `outbound|${SERVICE_PORT}|b|${HOST}`;
const TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';
const CALLS = 600;

type GrpcJsXds = typeof import('@grpc/grpc-js-xds');
type XdsServer = InstanceType<GrpcJsXds['XdsServer']>;

function outboundListener(): Record<string, unknown> {
  const hcm = { stat_prefix: OUTBOUND, rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: ROUTE }, http_filters: [ROUTER] };
  return {
    name: OUTBOUND,
    address: { socket_address: { address: '0.0.0.0', port_value: SERVICE_PORT } },
    api_listener: { api_listener: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) },
  };
}

function outboundRoute(weightA: number, weightB: number): Record<string, unknown> {
  return {
    name: ROUTE,
    virtual_hosts: [
      {
        name: OUTBOUND,
        domains: [HOST, OUTBOUND],
        routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: CLUSTER_A, weight: { value: weightA } }, { name: CLUSTER_B, weight: { value: weightB } }] } } }],
      },
    ],
  };
}

const cluster = (name: string) => ({ name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'ROUND_ROBIN' });
const endpoints = (name: string, port: number) => ({
  cluster_name: name,
  endpoints: [{ locality: { region: 'local' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
});

/** The inbound Listener for a server on 127.0.0.1:port: inline `prefix: /` NonForwardingAction route, DENY Admin. */
function inboundListener(port: number): Record<string, unknown> {
  const noAdmin = rbacFilter('DENY', { 'ns[default]-policy[no-admin]-rule[0]': { permissions: [{ url_path: { path: { exact: GREETER.Admin.path } } }], principals: [{ any: true }] } });
  return serverListener('127.0.0.1', port, [{ name: `inbound|${port}`, httpFilters: [noAdmin] }]);
}

interface StockServer {
  readonly server: XdsServer;
  readonly port: number;
  /** Resolves with the port once grpc-js-xds calls back from bindAsync: it does so only when serving. */
  readonly serving: Promise<number>;
  isServing: boolean;
}

describe('Meshlet client -> unmodified @grpc/grpc-js-xds XdsServers over one AdsServer', () => {
  let grpcJsXds: GrpcJsXds;
  let ads: AdsServer;
  let xdsClient: XdsClient;
  let mesh: Mesh;
  let client: GreeterClient;
  const servers: StockServer[] = [];
  const nacks: AdsAckEvent[] = [];
  const env = { ...process.env };

  async function startStockServer(name: string): Promise<StockServer> {
    const server = new grpcJsXds.XdsServer({ drainGraceTimeMs: 100 });
    server.addService(GREETER, greeterImplementation(name));
    // XdsServer needs a concrete port (it fetches the Listener named after it before binding).
    const port = await deadPort();
    const entry: StockServer = { server, port, isServing: false, serving: undefined as unknown as Promise<number> };
    (entry as { serving: Promise<number> }).serving = new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
        if (err) reject(err);
        else {
          entry.isServing = true;
          resolve(p);
        }
      }),
    );
    return entry;
  }

  beforeAll(async () => {
    ads = new AdsServer();
    ads.events.on('nack', (e: AdsAckEvent) => nacks.push(e));
    const { port: adsPort } = await ads.listen(0);
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~greeter-0.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' }, locality: {} },
      server_listener_resource_name_template: TEMPLATE,
    };
    // grpc-js-xds reads both when it loads / first needs its xDS client; RBAC is opt-in in 1.14.
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(bootstrap);
    process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
    grpcJsXds = await import('@grpc/grpc-js-xds');
    grpcJsXds.register();

    servers.push(await startStockServer('A'), await startStockServer('B'));

    xdsClient = new XdsClient({ bootstrap, logger: silentLogger });
    mesh = await Mesh.create({ source: xdsClient, resolveTimeoutMs: 3000 });
  });

  afterAll(async () => {
    client?.close();
    mesh?.close();
    for (const s of servers) s.server.forceShutdown();
    await xdsClient?.close();
    await ads?.close();
    process.env = env;
  });

  it('serves only once its Listener arrives over xDS', async () => {
    // No Listener yet: grpc-js-xds has not bound the port, so a direct call fails.
    await new Promise((r) => setTimeout(r, 200));
    expect(servers.map((s) => s.isServing)).toEqual([false, false]);
    const direct = new GreeterClientConstructor(`127.0.0.1:${servers[0]!.port}`, grpc.credentials.createInsecure());
    const early = await call(direct, 'Hello', { timeoutMs: 300 });
    direct.close();
    expect(early.code).not.toBe(grpc.status.OK);

    const [a, b] = servers as [StockServer, StockServer];
    ads.setSnapshot({
      listeners: [outboundListener(), inboundListener(a.port), inboundListener(b.port)],
      routes: [outboundRoute(80, 20)],
      clusters: [cluster(CLUSTER_A), cluster(CLUSTER_B)],
      endpoints: [endpoints(CLUSTER_A, a.port), endpoints(CLUSTER_B, b.port)],
    });
    expect(await Promise.all(servers.map((s) => s.serving))).toEqual([a.port, b.port]);
    await until(() => servers.every((s) => s.isServing), 5000);
  });

  it('sends Meshlet calls through the weighted route across both servers, within tolerance of 80/20', async () => {
    const channel = await createMeshChannel(`xds:///${OUTBOUND}`, { mesh });
    client = new GreeterClientConstructor(`xds:///${OUTBOUND}`, grpc.credentials.createInsecure(), { channelOverride: channel });
    expect(await call(client, 'Hello', { timeoutMs: 5000 })).toMatchObject({ code: grpc.status.OK });

    const counts: Record<string, number> = {};
    for (let done = 0; done < CALLS; done += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => call(client, 'Hello')));
      for (const r of batch) counts[r.body ?? `!${grpc.status[r.code]}`] = (counts[r.body ?? `!${grpc.status[r.code]}`] ?? 0) + 1;
    }
    expect((counts['A:Hello'] ?? 0) + (counts['B:Hello'] ?? 0)).toBe(CALLS);
    // Binomial(600, 0.2): the share's sd is 0.016, so ±0.07 is over 4 sigma.
    expect(Math.abs((counts['B:Hello'] ?? 0) / CALLS - 0.2)).toBeLessThan(0.07);
  });

  it("gets grpc-js-xds's RBAC denial (PERMISSION_DENIED) back through the MeshChannel", async () => {
    const denied = await call(client, 'Admin');
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    // grpc-js-xds's own wording: the denial came from the stock server, passed through unchanged.
    expect(denied.details).toBe('Unauthorized RPC rejected');
    expect(await call(client, 'Hello')).toMatchObject({ code: grpc.status.OK });
  });

  it('follows a weight shift pushed by the AdsServer, and nothing was NACKed', async () => {
    ads.setSnapshot({ routes: [outboundRoute(0, 100)] });
    await expect.poll(async () => (await call(client, 'Hello')).body, { timeout: 3000 }).toBe('B:Hello');
    const after = await Promise.all(Array.from({ length: 40 }, () => call(client, 'Hello')));
    expect(after.every((r) => r.body === 'B:Hello')).toBe(true);
    expect(nacks).toEqual([]);
  });
});
