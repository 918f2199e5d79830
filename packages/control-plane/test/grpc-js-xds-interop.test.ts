import * as grpc from '@grpc/grpc-js';
import * as grpcJsXds from '@grpc/grpc-js-xds';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdsServer, type AdsAckEvent } from '../src/server/index.js';
import { edsCluster, loadAssignment } from './helpers/adsFixtures.js';
import { CLUSTER_A, CLUSTER_ALL, CLUSTER_B, LISTENER, ROUTE, apiListener, greeterRouteConfig as routeConfig, grpcXdsBootstrap } from './helpers/grpcXdsResources.js';
import { GreeterClientConstructor, callMethod, startEchoBackend, type EchoBackend, type GreeterClient } from './helpers/echoBackend.js';

/** An unmodified @grpc/grpc-js-xds client, driven by AdsServer (resources: helpers/grpcXdsResources.ts). */
describe('grpc-js-xds client against AdsServer', () => {
  let ads: AdsServer;
  let a: EchoBackend;
  let b: EchoBackend;
  let client: GreeterClient;
  let acks: AdsAckEvent[];
  let nacks: AdsAckEvent[];

  /** Calls until `done` holds for the answering backend, or fails after `limit` calls. */
  async function callUntil(method: 'SayHello' | 'Pinned', done: (id: string) => boolean, limit = 2000): Promise<void> {
    for (let i = 0; i < limit; i++) {
      if (done(await callMethod(client, method))) return;
      if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`condition not reached after ${limit} ${method} calls`);
  }

  async function countBackends(method: 'SayHello' | 'Pinned', calls: number): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const batch = 25;
    for (let done = 0; done < calls; done += batch) {
      const ids = await Promise.all(Array.from({ length: Math.min(batch, calls - done) }, () => callMethod(client, method)));
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([startEchoBackend('A'), startEchoBackend('B')]);
    ads = new AdsServer();
    acks = [];
    ads.events.on('ack', (event: AdsAckEvent) => acks.push(event));
    nacks = [];
    ads.events.on('nack', (event: AdsAckEvent) => nacks.push(event));
    const { port } = await ads.listen(0);
    ads.setSnapshot({
      listeners: [apiListener()],
      routes: [routeConfig(CLUSTER_A, { cluster: CLUSTER_ALL })],
      clusters: [edsCluster(CLUSTER_ALL), edsCluster(CLUSTER_A), edsCluster(CLUSTER_B)],
      endpoints: [loadAssignment(CLUSTER_ALL, [a.port, b.port]), loadAssignment(CLUSTER_A, [a.port]), loadAssignment(CLUSTER_B, [b.port])],
    });
    // grpc-js-xds reads the bootstrap once, when the first xds: channel resolves, so it
    // only has to be in place before the client below is created.
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = grpcXdsBootstrap(port, 'sidecar~127.0.0.1~client.default~default.svc.cluster.local');
    grpcJsXds.register();
    client = new GreeterClientConstructor(`xds:///${LISTENER}`, grpc.credentials.createInsecure());
  });

  afterEach(() => {
    // Every resource served here must be valid to grpc-js-xds.
    expect(nacks.map((e) => `${e.typeUrl}: ${e.errorDetail?.message}`)).toEqual([]);
  });

  afterAll(async () => {
    client?.close();
    await ads?.close();
    await Promise.all([a?.close(), b?.close()]);
    delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
  });

  it('resolves listener -> route -> cluster -> endpoints and reaches both backends round robin', async () => {
    const seen = new Set<string>();
    await callUntil('SayHello', (id) => seen.add(id).size === 2, 200);
    expect(seen).toEqual(new Set(['A', 'B']));
    // Once both subchannels are ready, ROUND_ROBIN alternates: 40 calls split evenly.
    const counts = await countBackends('SayHello', 40);
    expect(Math.abs((counts.get('A') ?? 0) - (counts.get('B') ?? 0))).toBeLessThanOrEqual(2);
    expect(await callMethod(client, 'Pinned')).toBe('A');
    // The client ACKed every type it was served.
    const typesAcked = new Set(acks.map((e) => e.typeUrl.split('.').at(-1)));
    expect(typesAcked).toEqual(new Set(['Listener', 'RouteConfiguration', 'Cluster', 'ClusterLoadAssignment']));
  });

  it('splits calls across weighted_clusters 80/20', async () => {
    ads.setResources(`type.googleapis.com/envoy.config.route.v3.RouteConfiguration`, {
      [ROUTE]: routeConfig(CLUSTER_B, {
        weighted_clusters: { clusters: [{ name: CLUSTER_A, weight: { value: 80 } }, { name: CLUSTER_B, weight: { value: 20 } }] },
      }),
    });
    // The Pinned route moving to B marks the moment the new route table is in use; route
    // tables are swapped whole, so every later call sees the weighted split too.
    await callUntil('Pinned', (id) => id === 'B');
    const calls = 600;
    const counts = await countBackends('SayHello', calls);
    const shareB = (counts.get('B') ?? 0) / calls;
    // Binomial(600, 0.2): standard deviation of the share is 0.016; ±0.07 is > 4 sigma.
    expect(shareB).toBeGreaterThan(0.2 - 0.07);
    expect(shareB).toBeLessThan(0.2 + 0.07);
    expect((counts.get('A') ?? 0) + (counts.get('B') ?? 0)).toBe(calls);
  });

  it('sends a path-matched method to its own cluster', async () => {
    ads.setResources(`type.googleapis.com/envoy.config.route.v3.RouteConfiguration`, {
      [ROUTE]: routeConfig(CLUSTER_A, { cluster: CLUSTER_B }),
    });
    await callUntil('Pinned', (id) => id === 'A');
    const pinned = await countBackends('Pinned', 50);
    const other = await countBackends('SayHello', 50);
    expect(pinned).toEqual(new Map([['A', 50]]));
    expect(other).toEqual(new Map([['B', 50]]));
  });
});
