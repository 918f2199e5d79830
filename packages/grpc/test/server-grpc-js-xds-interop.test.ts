import * as grpc from '@grpc/grpc-js';
import * as grpcJsXds from '@grpc/grpc-js-xds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdsServer, type AdsAckEvent } from '@meshlet/control-plane';
import { XdsClient, encodeAny, silentLogger } from '@meshlet/xds-client';
import { MeshServer, MeshServerCredentials, type ServingStatus } from '../src/server/index.js';
import { GREETER, GreeterClientConstructor, ROUTER, bindAsync, call, greeterImplementation, rbacFilter, routeConfig, serverListener, until, type GreeterClient } from './serverFixtures.js';

/**
 * Issue 4 interop: an unmodified @grpc/grpc-js-xds client calls a MeshServer, both configured by
 * one AdsServer: the client gets istiod-shaped outbound resources (listener `host:port`, RDS
 * `outbound|PORT||HOST`, EDS cluster pointing at the MeshServer), the server its inbound Listener
 * `xds.istio.io/grpc/lds/inbound/127.0.0.1:PORT` with a NonForwardingAction route and RBAC.
 */
const HOST = 'greeter.test';
const SERVICE_PORT = 50051;
const OUTBOUND = `${HOST}:${SERVICE_PORT}`;
const OUTBOUND_ROUTE = `outbound|${SERVICE_PORT}||${HOST}`;
const CLUSTER = `outbound|${SERVICE_PORT}||${HOST}`;

function outboundListener(): Record<string, unknown> {
  const hcm = { stat_prefix: OUTBOUND, rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: OUTBOUND_ROUTE }, http_filters: [ROUTER] };
  return {
    name: OUTBOUND,
    address: { socket_address: { address: '0.0.0.0', port_value: SERVICE_PORT } },
    api_listener: { api_listener: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) },
  };
}

function outboundRoute(): Record<string, unknown> {
  return { name: OUTBOUND_ROUTE, virtual_hosts: [{ name: OUTBOUND, domains: [HOST, OUTBOUND], routes: [{ match: { prefix: '/' }, route: { cluster: CLUSTER } }] }] };
}

function cluster(): Record<string, unknown> {
  return { name: CLUSTER, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'ROUND_ROBIN' };
}

function endpoints(port: number): Record<string, unknown> {
  return {
    cluster_name: CLUSTER,
    endpoints: [{ locality: { region: 'local' }, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
  };
}

describe('unmodified @grpc/grpc-js-xds client -> MeshServer over one AdsServer', () => {
  let ads: AdsServer;
  let xdsClient: XdsClient;
  let server: MeshServer;
  let client: GreeterClient;
  const nacks: AdsAckEvent[] = [];
  const statuses: ServingStatus[] = [];

  beforeAll(async () => {
    ads = new AdsServer();
    ads.events.on('nack', (e: AdsAckEvent) => nacks.push(e));
    const { port: adsPort } = await ads.listen(0);
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~greeter-0.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' }, locality: {} },
      server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
    };
    xdsClient = new XdsClient({ bootstrap, logger: silentLogger });
    server = new MeshServer({ xdsClient, onServingStatus: (_a, s) => statuses.push(s), logger: silentLogger, drainGraceTimeMs: 500 });
    server.addService(GREETER, greeterImplementation('mesh'));
    const port = await bindAsync(server, '127.0.0.1:0', new MeshServerCredentials(grpc.ServerCredentials.createInsecure()));

    const noAdmin = rbacFilter('DENY', { 'ns[default]-policy[no-admin]': { permissions: [{ url_path: { path: { exact: '/meshlet.test.Greeter/Admin' } } }], principals: [{ any: true }] } });
    ads.setSnapshot({
      listeners: [outboundListener(), serverListener('127.0.0.1', port, [{ rds: `inbound|${port}`, httpFilters: [noAdmin] }])],
      routes: [outboundRoute(), routeConfig(`inbound|${port}`)],
      clusters: [cluster()],
      endpoints: [endpoints(port)],
    });
    await until(() => server.isServing(port), 5000);

    // The same bootstrap for grpc-js-xds (its client ignores server_listener_resource_name_template).
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(bootstrap);
    grpcJsXds.register();
    client = new GreeterClientConstructor(`xds:///${OUTBOUND}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    server?.forceShutdown();
    await xdsClient?.close();
    await ads?.close();
    delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
  });

  it('serves the grpc-js-xds client through xDS on both sides, RBAC included', async () => {
    expect(statuses.map((s) => s.code)).toContain(grpc.status.OK);
    expect(await call(client, 'Hello', { timeoutMs: 5000 })).toEqual({ code: grpc.status.OK, body: 'mesh:Hello', details: '' });
    expect(await call(client, 'Admin')).toEqual({ code: grpc.status.PERMISSION_DENIED, details: 'RBAC: access denied' });
    // Many calls on the xDS channel: all served by the MeshServer.
    const results = await Promise.all(Array.from({ length: 20 }, () => call(client, 'Hello')));
    expect(results.every((r) => r.body === 'mesh:Hello')).toBe(true);
    expect(nacks).toEqual([]);
  });
});
