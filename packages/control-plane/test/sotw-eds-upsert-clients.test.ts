import * as grpc from '@grpc/grpc-js';
import * as grpcJsXds from '@grpc/grpc-js-xds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, ClusterLoadAssignmentResource, XdsClient, silentLogger, type ClusterLoadAssignment } from '@meshlet/xds-client';
import { RecordingWatcher } from '../../xds-client/test/helpers/RecordingWatcher.js';
import { AdsServer, type AdsAckEvent, type AdsRequestEvent } from '../src/server/index.js';
import { edsCluster, loadAssignment } from './helpers/adsFixtures.js';
import { GreeterClientConstructor, callMethod, startEchoBackend, type EchoBackend, type GreeterClient } from './helpers/echoBackend.js';
import { CLUSTER_A, CLUSTER_B, LISTENER, apiListener, greeterRouteConfig as routeConfig, grpcXdsBootstrap } from './helpers/grpcXdsResources.js';

/*
 * In SotW, LDS and CDS responses carry every resource (a name left out is deleted) but RDS and EDS
 * responses need not (xDS protocol, "Grouping resources into responses"): upsertResources sends a
 * one-resource EDS response (ads-server-sotw.test.ts). A client that took it as the whole set would
 * drop the other cluster's endpoints (grpc-js-xds did until grpc-node#1925). Both clients, against a
 * real AdsServer: an unmodified grpc-js-xds channel and Meshlet's XdsClient.
 */

describe('grpc-js-xds client against AdsServer: one cluster upserted (SotW EDS)', () => {
  let ads: AdsServer;
  let a: EchoBackend;
  let b: EchoBackend;
  let c: EchoBackend;
  let client: GreeterClient;
  const requests: AdsRequestEvent[] = [];
  const nacks: AdsAckEvent[] = [];

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startEchoBackend('A'), startEchoBackend('B'), startEchoBackend('C')]);
    ads = new AdsServer();
    ads.events.on('request', (event: AdsRequestEvent) => requests.push(event));
    ads.events.on('nack', (event: AdsAckEvent) => nacks.push(event));
    const { port } = await ads.listen(0);
    // Pinned goes to cluster A (backend A), every other method to cluster B (backend B).
    ads.setSnapshot({
      listeners: [apiListener()],
      routes: [routeConfig(CLUSTER_A, { cluster: CLUSTER_B })],
      clusters: [edsCluster(CLUSTER_A), edsCluster(CLUSTER_B)],
      endpoints: [loadAssignment(CLUSTER_A, [a.port]), loadAssignment(CLUSTER_B, [b.port])],
    });
    // grpc-js-xds reads the bootstrap once per process, when the first xds: channel resolves (so
    // this test has a file, and with vitest's forks pool a process, of its own).
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = grpcXdsBootstrap(port, 'sidecar~127.0.0.1~client.default~default.svc.cluster.local');
    grpcJsXds.register();
    client = new GreeterClientConstructor(`xds:///${LISTENER}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await ads?.close();
    await Promise.all([a?.close(), b?.close(), c?.close()]);
    delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
  });

  async function callUntil(method: 'SayHello' | 'Pinned', id: string, limit = 2000): Promise<void> {
    for (let i = 0; i < limit; i++) {
      if ((await callMethod(client, method)) === id) return;
      if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`${method} never reached ${id} in ${limit} calls`);
  }

  async function answers(method: 'SayHello' | 'Pinned', calls: number): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < calls; i++) {
      const id = await callMethod(client, method);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  it("takes the upserted cluster's new endpoint and keeps the other cluster's endpoints", async () => {
    await callUntil('Pinned', 'A');
    await callUntil('SayHello', 'B');
    const edsRequestsBefore = requests.filter((r) => r.typeUrl === EDS).length;

    ads.upsertResources(EDS, { [CLUSTER_A]: loadAssignment(CLUSTER_A, [c.port]) });
    await callUntil('Pinned', 'C');
    // grpc-js-xds ACKed the one-resource response (a request echoing its nonce, no error) and
    // still subscribes to both clusters' endpoints.
    const after = requests.filter((r) => r.typeUrl === EDS).slice(edsRequestsBefore);
    expect(after.length).toBeGreaterThanOrEqual(1);
    const ack = after.at(-1)!;
    expect(ack.errorDetail).toBeUndefined();
    expect(new Set(ack.resourceNames)).toEqual(new Set([CLUSTER_A, CLUSTER_B]));

    // Every call lands: Pinned on the new endpoint only, the rest still on cluster B's.
    expect(await answers('Pinned', 40)).toEqual(new Map([['C', 40]]));
    expect(await answers('SayHello', 40)).toEqual(new Map([['B', 40]]));
    expect(nacks).toEqual([]);
  });
});

describe('XdsClient against AdsServer: one cluster upserted (SotW EDS)', () => {
  it("delivers the upserted cluster's endpoints and keeps the other's, with no does-not-exist", async () => {
    const ads = new AdsServer();
    const { port } = await ads.listen(0);
    const client = new XdsClient({
      bootstrap: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'meshlet-upsert' } },
      logger: silentLogger,
      // Short enough that a wrongly missing resource would be reported within the test.
      doesNotExistTimeoutMs: 500,
    });
    try {
      ads.setResources(EDS, { [CLUSTER_A]: loadAssignment(CLUSTER_A, [1001]), [CLUSTER_B]: loadAssignment(CLUSTER_B, [1002]) });
      const watchA = new RecordingWatcher<ClusterLoadAssignment>();
      const watchB = new RecordingWatcher<ClusterLoadAssignment>();
      client.watch(ClusterLoadAssignmentResource, CLUSTER_A, watchA);
      client.watch(ClusterLoadAssignmentResource, CLUSTER_B, watchB);
      const portOf = (cla: ClusterLoadAssignment) => cla.endpoints[0]!.lb_endpoints[0]!.address.port_value;
      expect(portOf((await watchA.nextOf('resource')).resource)).toBe(1001);
      expect(portOf((await watchB.nextOf('resource')).resource)).toBe(1002);

      ads.upsertResources(EDS, { [CLUSTER_A]: loadAssignment(CLUSTER_A, [2001]) });
      expect(portOf((await watchA.nextOf('resource')).resource)).toBe(2001);
      // Past the does-not-exist timer: B was told nothing (no deletion, no error) and is still cached.
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(watchB.pending).toEqual([]);
      const late = new RecordingWatcher<ClusterLoadAssignment>();
      client.watch(ClusterLoadAssignmentResource, CLUSTER_B, late);
      expect(portOf((await late.nextOf('resource')).resource)).toBe(1002);
    } finally {
      client.close();
      await ads.close();
    }
  });
});
