import * as grpc from '@grpc/grpc-js';
import * as grpcJsXds from '@grpc/grpc-js-xds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdsServer } from '@meshlet/control-plane';
import { Mesh } from '@meshlet/core';
import { XdsClient, encodeAny } from '@meshlet/xds-client';
import { meshClientOptions } from '@meshlet/grpc';
import { startBackend, type GrpcBackend } from './helpers/backends.js';
import { EchoClientConstructor, countAnswers, unary, type EchoClient } from './helpers/echoService.js';

/**
 * One AdsServer drives both a Meshlet MeshChannel (through Meshlet's XdsClient) and an
 * unmodified @grpc/grpc-js-xds client, with resources shaped like istiod's grpc generator
 * output. They must agree on the weighted split.
 */
const HOST = 'echo.test';
const PORT = 50051;
const LISTENER = `${HOST}:${PORT}`;
const ROUTE = `outbound|${PORT}||${HOST}`;
const CLUSTER_A = `outbound|${PORT}|a|${HOST}`;
const CLUSTER_B = `outbound|${PORT}|b|${HOST}`;
const CALLS = 600;

function cluster(name: string): Record<string, unknown> {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'ROUND_ROBIN' };
}

function endpoints(name: string, port: number): Record<string, unknown> {
  return {
    cluster_name: name,
    endpoints: [{ locality: { region: 'local' }, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
  };
}

describe('the same weighted route through Meshlet and through @grpc/grpc-js-xds', () => {
  let ads: AdsServer;
  let a: GrpcBackend;
  let b: GrpcBackend;
  let xdsClient: XdsClient;
  let mesh: Mesh;
  let meshed: EchoClient;
  let stock: EchoClient;

  beforeAll(async () => {
    [a, b] = await Promise.all([startBackend('A'), startBackend('B')]);
    ads = new AdsServer();
    const { port } = await ads.listen(0);
    const hcm = {
      stat_prefix: LISTENER,
      rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: ROUTE },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: encodeAny('envoy.extensions.filters.http.router.v3.Router', {}) }],
    };
    ads.setSnapshot({
      listeners: [
        {
          name: LISTENER,
          api_listener: { api_listener: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) },
        },
      ],
      routes: [
        {
          name: ROUTE,
          virtual_hosts: [
            {
              name: LISTENER,
              domains: [HOST, LISTENER],
              routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: CLUSTER_A, weight: { value: 80 } }, { name: CLUSTER_B, weight: { value: 20 } }] } } }],
            },
          ],
        },
      ],
      clusters: [cluster(CLUSTER_A), cluster(CLUSTER_B)],
      endpoints: [endpoints(CLUSTER_A, a.port), endpoints(CLUSTER_B, b.port)],
    });
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~client.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' }, locality: {} },
    };
    // grpc-js-xds reads the bootstrap when its first xds: channel resolves.
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(bootstrap);
    grpcJsXds.register();
    stock = new EchoClientConstructor(`xds:///${LISTENER}`, grpc.credentials.createInsecure());

    xdsClient = new XdsClient({ bootstrap });
    mesh = await Mesh.create({ source: xdsClient });
    meshed = new EchoClientConstructor(`xds:///${LISTENER}`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds:///${LISTENER}`));
  });

  afterAll(async () => {
    meshed?.close();
    stock?.close();
    mesh?.close();
    await xdsClient?.close();
    await ads?.close();
    await Promise.all([a?.close(), b?.close()]);
    delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
  });

  it('splits 80/20 in both clients, within tolerance of the weights and of each other', async () => {
    const viaMeshlet = await countAnswers(CALLS, () => unary(meshed));
    const viaGrpcJsXds = await countAnswers(CALLS, () => unary(stock));
    expect((viaMeshlet.A ?? 0) + (viaMeshlet.B ?? 0)).toBe(CALLS);
    expect((viaGrpcJsXds.A ?? 0) + (viaGrpcJsXds.B ?? 0)).toBe(CALLS);
    const shareMeshlet = (viaMeshlet.B ?? 0) / CALLS;
    const shareStock = (viaGrpcJsXds.B ?? 0) / CALLS;
    // Binomial(600, 0.2): each share has sd 0.016, so ±0.07 is over 4 sigma; the difference
    // of two independent shares has sd 0.023, so 0.1 is over 4 sigma.
    expect(Math.abs(shareMeshlet - 0.2)).toBeLessThan(0.07);
    expect(Math.abs(shareStock - 0.2)).toBeLessThan(0.07);
    expect(Math.abs(shareMeshlet - shareStock)).toBeLessThan(0.1);
  });
});
