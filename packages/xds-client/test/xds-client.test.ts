import { afterEach, describe, expect, it } from 'vitest';
import { AdsServer, type AdsAckEvent, type AdsRequestEvent } from '../../control-plane/src/server/index.js';
import { XdsClient, silentLogger, type XdsClientOptions } from '../src/client/index.js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterLoadAssignmentResource, ClusterResource } from '../src/resources/index.js';
import type { Cluster } from '../src/resources/model.js';
import { RecordingWatcher, settle, waitFor } from './helpers/RecordingWatcher.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const cluster = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'EDS',
  eds_cluster_config: { eds_config: { ads: {} } },
  connect_timeout: { seconds: 1 },
  ...extra,
});
/** Rejected by ClusterResource: a percentage over 100. */
const badCluster = (name: string) => cluster(name, { outlier_detection: { max_ejection_percent: { value: 150 } } });
const cla = (name: string, port = 8080) => ({
  cluster_name: name,
  endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
});

async function startServer(port = 0): Promise<{ server: AdsServer; port: number }> {
  const server = new AdsServer();
  const bound = await server.listen(port);
  cleanups.push(() => server.close());
  return { server, port: bound.port };
}

function bootstrapFor(ports: number[], features: string[] = []) {
  return {
    xds_servers: ports.map((port) => ({ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', ...features] })),
    node: { id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local', cluster: 'app', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
  };
}

const fast: XdsClientOptions = {
  doesNotExistTimeoutMs: 300,
  backoff: { initialMs: 20, maxMs: 200 },
  channelOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 },
  fallbackProbeIntervalMs: 50,
  logger: silentLogger,
};

function newClient(options: XdsClientOptions): XdsClient {
  const client = new XdsClient({ ...fast, ...options });
  cleanups.push(() => client.close());
  return client;
}

function record<T>(server: AdsServer, event: string): T[] {
  const seen: T[] = [];
  const listener = (e: T) => seen.push(e);
  server.events.on(event, listener);
  cleanups.push(() => void server.events.off(event, listener));
  return seen;
}

for (const delta of [false, true]) {
  describe(`XdsClient over ${delta ? 'delta' : 'state-of-the-world'} ADS`, () => {
    it('fetches, updates, and does not wake watchers for equal updates', async () => {
      const { server, port } = await startServer();
      const requests = record<AdsRequestEvent>(server, 'request');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1') });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const w = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w);
      const first = await w.nextOf('resource');
      expect(first.resource.name).toBe('c1');
      expect(first.resource.connect_timeout).toBe(1000);

      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 2 } }) });
      const second = await w.nextOf('resource');
      expect(second.resource.connect_timeout).toBe(2000);

      // Same content, new version: acknowledged, but watchers stay asleep.
      const acks = record<AdsAckEvent>(server, 'ack');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 2 } }) }, { version: 'same-content' });
      await waitFor(() => acks.length > 0, 5000, 'ack');
      await settle();
      expect(w.pending).toEqual([]);

      // One stream of the kind asked for, opened with the Node.
      expect(requests.every((r) => r.delta === delta)).toBe(true);
      expect(requests[0]!.node).toMatchObject({
        id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local',
        user_agent_name: 'meshlet',
        client_features: expect.arrayContaining(['xds.config.resource-in-sotw']),
      });
      // Meshlet applies overprovisioning_factor, as Envoy does: it must not say otherwise.
      expect(requests[0]!.node!['client_features']).not.toContain('envoy.lb.does_not_support_overprovisioning');
      expect(typeof requests[0]!.node!['user_agent_version']).toBe('string');
      expect(new Set(requests.map((r) => r.streamId)).size).toBe(1);
    });

    it('shares one subscription between watchers and serves cached resources to late watchers', async () => {
      const { server, port } = await startServer();
      const requests = record<AdsRequestEvent>(server, 'request');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1'), c2: cluster('c2') });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const a = new RecordingWatcher<Cluster>();
      const b = new RecordingWatcher<Cluster>();
      const ha = client.watch(ClusterResource, 'c1', a);
      const hb = client.watch(ClusterResource, 'c1', b);
      await a.nextOf('resource');
      await b.nextOf('resource');

      const late = new RecordingWatcher<Cluster>();
      let delivered = false;
      client.watch(ClusterResource, 'c1', { onResource: (r, m) => ((delivered = true), late.onResource(r, m)) });
      expect(delivered).toBe(false); // asynchronous, never from inside watch()
      expect((await late.nextOf('resource', 1000)).resource.name).toBe('c1');
      const subscribeRequests = requests.filter((r) => r.resourceNames.includes('c1'));
      expect(subscribeRequests.length).toBeGreaterThan(0);

      // An aborted signal ends a watch like dispose().
      const ac = new AbortController();
      const c = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c2', c, { signal: ac.signal });
      await c.nextOf('resource');
      const before = requests.length;
      ac.abort();
      await waitFor(() => requests.length > before, 5000, 'unsubscribe request');
      const unsub = requests.at(-1)!;
      if (delta) expect(unsub.resourceNamesUnsubscribe).toEqual(['c2']);
      else expect(unsub.resourceNames.sort()).toEqual(['c1']);

      ha.dispose();
      hb.dispose();
      expect(client.configDump().generic_xds_configs.map((x) => x.name)).toEqual(['c1']);
    });

    it('notifies each watcher once per change, skips one disposed meanwhile by another, and counts a watcher watching twice once', async () => {
      const { server, port } = await startServer();
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1') });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const calls: string[] = [];
      const twice = new RecordingWatcher<Cluster>();
      const later = new RecordingWatcher<Cluster>();
      let laterHandle: { dispose(): void } | undefined;
      let disposeLaterOnNext = false;
      // The first watcher disposes the third while the second change is being delivered.
      client.watch(ClusterResource, 'c1', {
        onResource: (r) => {
          calls.push(`first ${r.connect_timeout}`);
          if (disposeLaterOnNext) laterHandle!.dispose();
        },
      });
      const h1 = client.watch(ClusterResource, 'c1', twice);
      const h2 = client.watch(ClusterResource, 'c1', twice);
      laterHandle = client.watch(ClusterResource, 'c1', later);
      await later.nextOf('resource');
      await twice.nextOf('resource');
      await settle();
      expect(calls).toEqual(['first 1000']);
      expect(twice.events.filter((e) => e.kind === 'resource')).toHaveLength(1);

      disposeLaterOnNext = true;
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 2 } }) });
      expect((await twice.nextOf('resource')).resource.connect_timeout).toBe(2000);
      await settle();
      expect(calls).toEqual(['first 1000', 'first 2000']);
      expect(twice.events.filter((e) => e.kind === 'resource')).toHaveLength(2);
      expect(later.events.filter((e) => e.kind === 'resource')).toHaveLength(1);

      // One registration of `twice` is gone after the first dispose; a second dispose is harmless.
      h1.dispose();
      h1.dispose();
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 3 } }) });
      await waitFor(() => calls.length === 3, 5000, 'third change');
      await settle();
      expect(twice.events.filter((e) => e.kind === 'resource')).toHaveLength(2);
      h2.dispose();
      expect(client.configDump().generic_xds_configs.map((x) => x.name)).toEqual(['c1']);
    });

    it('NACKs a malformed resource with its field path, keeps its last good version and accepts the rest (gRFC A46)', async () => {
      const { server, port } = await startServer();
      const nacks = record<AdsAckEvent>(server, 'nack');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1'), c2: cluster('c2') }, { version: 'v1' });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const clientNacks: string[][] = [];
      const sub = client.on('nack', (e) => clientNacks.push([...e.errors]));
      const w1 = new RecordingWatcher<Cluster>();
      const w2 = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w1);
      client.watch(ClusterResource, 'c2', w2);
      await w1.nextOf('resource');
      await w2.nextOf('resource');

      server.setResources(CLUSTER_TYPE_URL, { c1: badCluster('c1'), c2: cluster('c2', { connect_timeout: { seconds: 5 } }) }, { version: 'v2' });
      const err = await w1.nextOf('error');
      expect(err.error.message).toMatch(/outlier_detection\.max_ejection_percent/);
      expect((await w2.nextOf('resource')).resource.connect_timeout).toBe(5000);

      const nack = await waitFor(() => nacks[0], 5000, 'server-side NACK');
      expect(nack.errorDetail?.code).toBe(3); // INVALID_ARGUMENT
      expect(nack.errorDetail?.message).toContain('cluster "c1": outlier_detection.max_ejection_percent: must be at most 100');
      expect(nack.errorDetail?.message).not.toContain('c2');
      if (!delta) expect(nack.versionInfo).toBe('v1'); // SotW NACK carries the last accepted version
      expect(clientNacks).toHaveLength(1);

      const dump = client.configDump().generic_xds_configs;
      const c1 = dump.find((x) => x.name === 'c1')!;
      expect(c1.client_status).toBe('NACKED');
      expect(c1.version_info).toBe(delta ? c1.version_info : 'v1');
      expect(c1.xds_config?.type_url).toBe(CLUSTER_TYPE_URL);
      expect(c1.error_state).toMatchObject({ version_info: 'v2', details: expect.stringContaining('max_ejection_percent') });
      expect(dump.find((x) => x.name === 'c2')!.client_status).toBe('ACKED');

      // A late watcher still gets the last good c1.
      const late = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', late);
      expect((await late.nextOf('resource')).resource.outlier_detection).toBeUndefined();

      // A fixed version is accepted again.
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 3 } }), c2: cluster('c2', { connect_timeout: { seconds: 5 } }) }, { version: 'v3' });
      expect((await w1.nextOf('resource')).resource.connect_timeout).toBe(3000);
      expect(client.configDump().generic_xds_configs.find((x) => x.name === 'c1')!.client_status).toBe('ACKED');
      sub.dispose();
    });

    it('reports a removed resource as does-not-exist', async () => {
      const { server, port } = await startServer();
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1'), c2: cluster('c2') });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const w = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w);
      await w.nextOf('resource');
      server.removeResources(CLUSTER_TYPE_URL, ['c1']);
      await w.nextOf('does-not-exist');
      expect(client.configDump().generic_xds_configs[0]).toMatchObject({ name: 'c1', client_status: 'DOES_NOT_EXIST' });
      expect(client.configDump().generic_xds_configs[0]!.xds_config).toBeUndefined();
    });

    it('keeps a deleted resource when the server has ignore_resource_deletion (gRFC A53)', async () => {
      const { server, port } = await startServer();
      const acks = record<AdsAckEvent>(server, 'ack');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1'), c2: cluster('c2') });
      const client = newClient({ bootstrap: bootstrapFor([port], ['ignore_resource_deletion']), delta });
      const w = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w);
      await w.nextOf('resource');
      const before = acks.length;
      server.removeResources(CLUSTER_TYPE_URL, ['c1']);
      await waitFor(() => acks.length > before, 5000, 'ack of the deletion');
      await settle();
      expect(w.pending).toEqual([]);
      expect(client.configDump().generic_xds_configs[0]).toMatchObject({ name: 'c1', client_status: 'ACKED' });
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 9 } }) });
      expect((await w.nextOf('resource')).resource.connect_timeout).toBe(9000);
    });

    it('declares a never-sent resource non-existent after the does-not-exist timer', async () => {
      const { server, port } = await startServer();
      server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { present: cla('present') });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta, doesNotExistTimeoutMs: 200 });
      const present = new RecordingWatcher();
      const missing = new RecordingWatcher();
      client.watch(ClusterLoadAssignmentResource, 'present', present);
      client.watch(ClusterLoadAssignmentResource, 'missing', missing);
      await present.nextOf('resource');
      // SotW: only the timer can say it does not exist. Delta: the server may say so at once
      // (removed_resources for a name it has never had), which AdsServer does.
      if (!delta) expect(client.configDump().generic_xds_configs.find((x) => x.name === 'missing')!.client_status).toBe('REQUESTED');
      await missing.nextOf('does-not-exist', 3000);
      expect(client.configDump().generic_xds_configs.find((x) => x.name === 'missing')!.client_status).toBe('DOES_NOT_EXIST');
      // It can still appear later.
      server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { present: cla('present'), missing: cla('missing') });
      await missing.nextOf('resource');
      await settle(300);
      expect(present.pending).toEqual([]);
    });

    it('survives a server restart: serves the cache meanwhile, reconnects and re-subscribes', async () => {
      const first = await startServer();
      first.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1') }, { version: 'a1' });
      const client = newClient({ bootstrap: bootstrapFor([first.port]), delta });
      const disconnected: boolean[] = [];
      client.on('disconnected', (e) => disconnected.push(e.hadResponse));
      const connected: string[] = [];
      client.on('connected', (e) => connected.push(e.server));
      const w = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w);
      await w.nextOf('resource');

      await first.server.close();
      await waitFor(() => disconnected.length > 0, 5000, 'disconnect');
      // Meanwhile the cache keeps serving, and nobody is told the resource is gone.
      const meanwhile = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', meanwhile);
      expect((await meanwhile.nextOf('resource')).resource.name).toBe('c1');
      expect(w.pending).toEqual([]);

      const second = await startServer(first.port);
      const requests = record<AdsRequestEvent>(second.server, 'request');
      second.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 7 } }) }, { version: 'b1' });
      expect((await w.nextOf('resource', 8000)).resource.connect_timeout).toBe(7000);
      const resubscribe = requests.find((r) => r.typeUrl === CLUSTER_TYPE_URL)!;
      expect(resubscribe.node?.['id']).toBe('sidecar~127.0.0.1~app-1.default~default.svc.cluster.local');
      expect(resubscribe.resourceNames).toEqual(['c1']);
      if (delta) expect(resubscribe.initialResourceVersions).toHaveProperty('c1');
      else expect(resubscribe.versionInfo).toBe('a1');
      expect(connected.length).toBe(2);
    });

    it('re-subscribes every type after the server drops the stream', async () => {
      const { server, port } = await startServer();
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1') });
      server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { c1: cla('c1') });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const wc = new RecordingWatcher<Cluster>();
      const we = new RecordingWatcher();
      client.watch(ClusterResource, 'c1', wc);
      client.watch(ClusterLoadAssignmentResource, 'c1', we);
      await wc.nextOf('resource');
      await we.nextOf('resource');
      const opens = record<AdsRequestEvent>(server, 'request');
      server.disconnectAll();
      await waitFor(() => new Set(opens.filter((r) => r.node).map((r) => r.typeUrl)).size >= 1 && opens.some((r) => r.typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL) && opens.some((r) => r.typeUrl === CLUSTER_TYPE_URL), 5000, 're-subscription');
      server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { c1: cla('c1', 9090) });
      await we.nextOf('resource');
      expect(wc.pending.filter((e) => e.kind !== 'resource')).toEqual([]);
    });
  });
}

describe('XdsClient: bootstrap-driven behaviour', () => {
  it('speaks delta when the server lists the delta_xds feature', async () => {
    const { server, port } = await startServer();
    const requests = record<AdsRequestEvent>(server, 'request');
    server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1') });
    const client = newClient({ bootstrap: bootstrapFor([port], ['delta_xds']) });
    const w = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'c1', w);
    await w.nextOf('resource');
    expect(requests[0]!.delta).toBe(true);
  });

  it('falls back to the next server when the primary is unreachable, and returns when it is back (gRFC A71)', async () => {
    // Reserve a port for the primary, then free it so the primary is down.
    const reserved = await startServer();
    const primaryPort = reserved.port;
    await reserved.server.close();
    const fallback = await startServer();
    fallback.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 2 } }) });
    const client = newClient({ bootstrap: bootstrapFor([primaryPort, fallback.port]) });
    const w = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'c1', w);
    expect((await w.nextOf('resource')).resource.connect_timeout).toBe(2000);

    const primary = await startServer(primaryPort);
    primary.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', { connect_timeout: { seconds: 1 } }) });
    expect((await w.nextOf('resource', 8000)).resource.connect_timeout).toBe(1000);
  });

  it('reports a name under an unknown xdstp authority as an error (gRFC A47)', async () => {
    const { port } = await startServer();
    const client = newClient({ bootstrap: bootstrapFor([port]) });
    const w = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'xdstp://unknown.example/envoy.config.cluster.v3.Cluster/c1', w);
    expect((await w.nextOf('error')).error.message).toMatch(/authority "unknown.example"/);
  });

  it('config dump carries the node and close() is idempotent', async () => {
    const { port } = await startServer();
    const client = newClient({ bootstrap: bootstrapFor([port]) });
    const dump = client.configDump();
    expect(dump.node).toMatchObject({ id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local', user_agent_name: 'meshlet' });
    expect(dump.generic_xds_configs).toEqual([]);
    await client.close();
    await client.close();
    expect(() => client.watch(ClusterResource, 'c1', new RecordingWatcher())).toThrow(/closed/);
  });
});

describe('XdsClient: hooks', () => {
  it('fromEnv reads GRPC_XDS_BOOTSTRAP_CONFIG', async () => {
    const client = XdsClient.fromEnv({ logger: silentLogger }, { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrapFor([1])) });
    cleanups.push(() => client.close());
    expect(client.bootstrap.xds_servers[0]!.server_uri).toBe('127.0.0.1:1');
  });

  it('logs NACKs and ignored deletions, survives throwing watchers and listeners, and disposes listeners', async () => {
    const { server, port } = await startServer();
    server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1'), c2: cluster('c2') });
    const logs: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => void logs.push(`warn ${m}`), error: (m: string) => void logs.push(`error ${m}`) };
    const client = newClient({ bootstrap: bootstrapFor([port], ['ignore_resource_deletion']), logger });
    const acks: string[] = [];
    const ackSub = client.on('ack', (e) => acks.push(e.version));
    client.on('ack', () => {
      throw new Error('listener bug');
    });
    client.watch(ClusterResource, 'c1', {
      onResource() {
        throw new Error('watcher bug');
      },
    });
    const w = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'c1', w);
    await w.nextOf('resource');
    await waitFor(() => acks.length > 0, 5000, 'ack event');
    expect(logs).toEqual(expect.arrayContaining(['error xDS watcher threw', 'error xDS client event listener threw']));

    server.setResources(CLUSTER_TYPE_URL, { c1: badCluster('c1'), c2: cluster('c2') });
    await w.nextOf('error');
    await waitFor(() => logs.includes('warn xDS response rejected (NACK)'), 5000, 'NACK log');

    ackSub.dispose();
    const seen = acks.length;
    server.removeResources(CLUSTER_TYPE_URL, ['c1']);
    await waitFor(() => logs.some((l) => l.includes('ignore_resource_deletion')), 5000, 'A53 log');
    await settle();
    expect(acks.length).toBe(seen);
  });
});
