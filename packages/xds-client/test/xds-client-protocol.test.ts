import { afterEach, describe, expect, it } from 'vitest';
import { XdsClient, silentLogger, type XdsClientOptions } from '../src/client/index.js';
import { encodeAny } from '../src/proto/EnvoyProtos.js';
import { CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterResource } from '../src/resources/index.js';
import type { Cluster } from '../src/resources/model.js';
import { RecordingWatcher, settle } from './helpers/RecordingWatcher.js';
import { ScriptedAdsServer } from './helpers/ScriptedAdsServer.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const clusterAny = (name: string, seconds = 1, extra: Record<string, unknown> = {}) =>
  encodeAny('envoy.config.cluster.v3.Cluster', { name, type: 'STATIC', connect_timeout: { seconds }, ...extra });
const badClusterAny = (name: string) => clusterAny(name, 1, { outlier_detection: { max_ejection_percent: { value: 150 } } });

async function setup(options: XdsClientOptions = {}): Promise<{ server: ScriptedAdsServer; client: XdsClient }> {
  const server = new ScriptedAdsServer();
  const port = await server.listen();
  cleanups.push(() => server.close());
  const client = new XdsClient({
    bootstrap: {
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'node-1', cluster: 'c', locality: { zone: 'z1' }, metadata: { GENERATOR: 'grpc', LABELS: { app: 'a' }, N: 3, B: true, L: [1, 'x'] } },
    },
    doesNotExistTimeoutMs: 300,
    backoff: { initialMs: 20, maxMs: 100 },
    channelOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 100 },
    logger: silentLogger,
    ...options,
  });
  cleanups.push(() => client.close());
  return { server, client };
}

describe('SotW wire protocol', () => {
  it('sends the Node (with user agent, features and Struct metadata) on the first request only', async () => {
    const { server, client } = await setup();
    client.watch(ClusterResource, 'a', new RecordingWatcher());
    const s = await server.stream(0);
    const first = await s.nextRequest();
    expect(first).toMatchObject({ type_url: CLUSTER_TYPE_URL, resource_names: ['a'] });
    expect(first['version_info'] ?? '').toBe('');
    expect(first['response_nonce'] ?? '').toBe('');
    expect(first['node']).toMatchObject({
      id: 'node-1',
      cluster: 'c',
      locality: { zone: 'z1' },
      user_agent_name: 'meshlet',
      client_features: expect.arrayContaining(['xds.config.resource-in-sotw']),
    });
    // google.protobuf.Struct on the wire (protobufjs' bundled WKT use camelCase names).
    expect(first['node'].metadata).toEqual({
      fields: {
        GENERATOR: { stringValue: 'grpc' },
        LABELS: { structValue: { fields: { app: { stringValue: 'a' } } } },
        N: { numberValue: 3 },
        B: { boolValue: true },
        L: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'x' }] } },
      },
    });
    client.watch(ClusterResource, 'b', new RecordingWatcher());
    const second = await s.nextRequest();
    expect(second['node']).toBeUndefined();
    expect(second['resource_names']).toEqual(['a', 'b']);
  });

  it('ACKs with version and nonce; NACKs with the previous version, the nonce and error_detail', async () => {
    const { server, client } = await setup();
    const a = new RecordingWatcher<Cluster>();
    const b = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'a', a);
    client.watch(ClusterResource, 'b', b);
    const s = await server.stream(0);
    // Watches made in the same tick are coalesced into one request.
    expect((await s.nextRequest())['resource_names']).toEqual(['a', 'b']);
    s.send({ version_info: '1', nonce: 'n1', type_url: CLUSTER_TYPE_URL, resources: [clusterAny('a'), clusterAny('b')] });
    const ack = await s.nextRequest();
    expect(ack).toMatchObject({ version_info: '1', response_nonce: 'n1', resource_names: ['a', 'b'] });
    expect(ack['error_detail']).toBeUndefined();
    await a.nextOf('resource');
    await b.nextOf('resource');

    s.send({ version_info: '2', nonce: 'n2', type_url: CLUSTER_TYPE_URL, resources: [badClusterAny('a'), clusterAny('b', 4)] });
    const nack = await s.nextRequest();
    expect(nack).toMatchObject({ version_info: '1', response_nonce: 'n2', error_detail: { code: 3 } });
    expect(nack['error_detail'].message).toBe('cluster "a": outlier_detection.max_ejection_percent: must be at most 100 (percent)');
    expect((await b.nextOf('resource')).resource.connect_timeout).toBe(4000); // gRFC A46
    expect((await a.nextOf('error')).error.message).toContain('max_ejection_percent');

    // A response whose type_url does not match its resources is rejected as a whole resource error.
    s.send({ version_info: '3', nonce: 'n3', type_url: CLUSTER_TYPE_URL, resources: [encodeAny('envoy.config.endpoint.v3.ClusterLoadAssignment', { cluster_name: 'a' })] });
    const nack2 = await s.nextRequest();
    expect(nack2).toMatchObject({ version_info: '1', response_nonce: 'n3' });
    expect(nack2['error_detail'].message).toMatch(/^cluster "a": type_url .*ClusterLoadAssignment does not match/);
  });

  it('accepts resources wrapped in envoy.service.discovery.v3.Resource and ignores unrequested ones', async () => {
    const { server, client } = await setup();
    const a = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'a', a);
    const s = await server.stream(0);
    await s.nextRequest();
    const wrapped = encodeAny('envoy.service.discovery.v3.Resource', { name: 'a', version: 'ra', resource: clusterAny('a', 6) });
    s.send({ version_info: '1', nonce: 'n1', type_url: CLUSTER_TYPE_URL, resources: [wrapped, clusterAny('unrequested')] });
    expect((await a.nextOf('resource')).resource.connect_timeout).toBe(6000);
    expect((await s.nextRequest())['error_detail']).toBeUndefined();
    expect(client.configDump().generic_xds_configs.map((c) => c.name)).toEqual(['a']);
  });

  it('does not take a CDS response that predates a new subscription as proof of absence', async () => {
    const { server, client } = await setup({ doesNotExistTimeoutMs: 250 });
    const a = new RecordingWatcher<Cluster>();
    const b = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'a', a);
    const s = await server.stream(0);
    await s.nextRequest();
    client.watch(ClusterResource, 'b', b);
    await s.nextRequest();
    s.send({ version_info: '1', nonce: 'n1', type_url: CLUSTER_TYPE_URL, resources: [clusterAny('a')] });
    await a.nextOf('resource');
    await settle(50);
    expect(b.pending).toEqual([]);
    // ...but the does-not-exist timer still concludes.
    await b.nextOf('does-not-exist', 2000);
    // A cached resource missing from a later CDS response was deleted.
    s.send({ version_info: '2', nonce: 'n2', type_url: CLUSTER_TYPE_URL, resources: [] });
    await a.nextOf('does-not-exist');
  });

  it('retries with backoff when the stream fails, keeping version_info and resetting the nonce', async () => {
    const { server, client } = await setup();
    const disconnects: boolean[] = [];
    client.on('disconnected', (e) => disconnects.push(e.hadResponse));
    const a = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'a', a);
    const s0 = await server.stream(0);
    await s0.nextRequest();
    s0.send({ version_info: '7', nonce: 'n7', type_url: CLUSTER_TYPE_URL, resources: [clusterAny('a')] });
    await s0.nextRequest();
    await a.nextOf('resource');
    s0.fail();
    const s1 = await server.stream(1);
    const again = await s1.nextRequest();
    expect(again).toMatchObject({ version_info: '7', resource_names: ['a'] });
    expect(again['response_nonce'] ?? '').toBe('');
    expect(again['node']).toMatchObject({ id: 'node-1' });
    // A stream that dies before any response is retried after backoff, not dropped.
    s1.fail();
    const s2 = await server.stream(2);
    expect((await s2.nextRequest())['resource_names']).toEqual(['a']);
    expect(disconnects).toEqual([true, false]);
    expect(a.pending).toEqual([]); // the cached cluster was never withdrawn
  });
});

describe('delta wire protocol', () => {
  it('subscribes and unsubscribes by difference, ACKs by nonce and NACKs with error_detail', async () => {
    const { server, client } = await setup({ delta: true });
    const a = new RecordingWatcher<Cluster>();
    const ha = client.watch(ClusterResource, 'a', a);
    const s = await server.stream(0);
    expect(s.delta).toBe(true);
    const first = await s.nextRequest();
    expect(first).toMatchObject({ type_url: CLUSTER_TYPE_URL, resource_names_subscribe: ['a'], node: { id: 'node-1' } });
    expect(first['initial_resource_versions'] ?? {}).toEqual({});
    client.watch(ClusterResource, 'b', new RecordingWatcher());
    expect(await s.nextRequest()).toMatchObject({ resource_names_subscribe: ['b'] });

    s.send({ system_version_info: 's1', nonce: 'd1', type_url: CLUSTER_TYPE_URL, resources: [{ name: 'a', version: 'va1', resource: clusterAny('a') }] });
    const ack = await s.nextRequest();
    expect(ack).toMatchObject({ type_url: CLUSTER_TYPE_URL, response_nonce: 'd1' });
    expect(ack['error_detail']).toBeUndefined();
    expect((await a.nextOf('resource')).version).toBe('va1');

    s.send({ system_version_info: 's2', nonce: 'd2', type_url: CLUSTER_TYPE_URL, resources: [{ name: 'b', version: 'vb1', resource: badClusterAny('b') }] });
    const nack = await s.nextRequest();
    expect(nack).toMatchObject({ response_nonce: 'd2', error_detail: { code: 3 } });
    expect(nack['error_detail'].message).toContain('cluster "b": outlier_detection.max_ejection_percent');

    ha.dispose();
    expect(await s.nextRequest()).toMatchObject({ resource_names_unsubscribe: ['a'] });

    // On a new stream, cached versions go in initial_resource_versions.
    client.watch(ClusterResource, 'a', a);
    await s.nextRequest();
    s.send({ system_version_info: 's3', nonce: 'd3', type_url: CLUSTER_TYPE_URL, resources: [{ name: 'a', version: 'va2', resource: clusterAny('a', 2) }] });
    await s.nextRequest();
    s.fail();
    const s1 = await server.stream(1);
    const resub = await s1.nextRequest();
    expect(resub['resource_names_subscribe'].sort()).toEqual(['a', 'b']);
    expect(resub['initial_resource_versions']).toEqual({ a: 'va2' });
  });

  it('treats removed_resources as deletion', async () => {
    const { server, client } = await setup({ delta: true });
    const a = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'a', a);
    const s = await server.stream(0);
    await s.nextRequest();
    s.send({ system_version_info: 's1', nonce: 'd1', type_url: CLUSTER_TYPE_URL, resources: [{ name: 'a', version: '1', resource: clusterAny('a') }] });
    await a.nextOf('resource');
    s.send({ system_version_info: 's2', nonce: 'd2', type_url: CLUSTER_TYPE_URL, removed_resources: ['a'] });
    await a.nextOf('does-not-exist');
  });
});
