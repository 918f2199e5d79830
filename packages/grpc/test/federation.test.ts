import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdsServer } from '@meshlet/control-plane';
import { Mesh } from '@meshlet/core';
import { XdsClient, encodeAny, silentLogger } from '@meshlet/xds-client';
import { meshClientOptions } from '@meshlet/grpc';
import { startBackend, type GrpcBackend } from './helpers/backends.js';
import { EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';

/**
 * gRFC A47 federation end to end: `xds://td.example/echo.test:50051` names the Listener
 * `xdstp://td.example/envoy.config.listener.v3.Listener/echo.test:50051`, fetched from the
 * authority's server (here the top-level one: an authority with no xds_servers of its own).
 */
const AUTHORITY = 'td.example';
const LISTENER = `xdstp://${AUTHORITY}/envoy.config.listener.v3.Listener/echo.test:50051`;
const ROUTE = `xdstp://${AUTHORITY}/envoy.config.route.v3.RouteConfiguration/echo-routes`;
const CLUSTER = `xdstp://${AUTHORITY}/envoy.config.cluster.v3.Cluster/echo`;

describe('xds://authority/ targets (gRFC A47)', () => {
  let ads: AdsServer;
  let backend: GrpcBackend;
  let xdsClient: XdsClient;
  let mesh: Mesh;
  let client: EchoClient;

  beforeAll(async () => {
    backend = await startBackend('F');
    ads = new AdsServer();
    const { port } = await ads.listen(0);
    const hcm = {
      rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: ROUTE },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: encodeAny('envoy.extensions.filters.http.router.v3.Router', {}) }],
    };
    ads.setSnapshot({
      listeners: [{ name: LISTENER, api_listener: { api_listener: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) } }],
      routes: [{ name: ROUTE, virtual_hosts: [{ name: 'echo', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: CLUSTER } }] }] }],
      clusters: [{ name: CLUSTER, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }],
      endpoints: [{ cluster_name: CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: backend.port } } } }] }] }],
    });
    xdsClient = new XdsClient({
      logger: silentLogger,
      bootstrap: {
        xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'federation-test' },
        authorities: { [AUTHORITY]: {} },
      },
    });
    mesh = await Mesh.create({ source: xdsClient });
    client = new EchoClientConstructor(`xds://${AUTHORITY}/echo.test:50051`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds://${AUTHORITY}/echo.test:50051`, {}));
  });

  afterAll(async () => {
    client?.close();
    mesh?.close();
    await xdsClient?.close();
    await ads?.close();
    await backend?.close();
  });

  it('resolves the authority template through the bootstrap and reaches the cluster', async () => {
    const out = await unary(client);
    expect(out.details).toBe('');
    expect(out.code).toBe(grpc.status.OK);
    expect(out.body).toBe('F');
  });
});
