/**
 * Reliability: the control plane misbehaving (killed and restarted, hung, slow, sending
 * garbage) as seen by XdsClient over real gRPC on 127.0.0.1. Every test prints one
 * `RELIABILITY {json}` line with its figures (copied into RELIABILITY.md).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AdsServer, type AdsAckEvent } from '../../control-plane/src/server/index.js';
import { DevCertificateAuthority } from '../../core/src/identity/index.js';
import { XdsClient, silentLogger, type XdsClientOptions } from '../src/client/index.js';
import { CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterResource } from '../src/resources/index.js';
import type { Cluster } from '../src/resources/model.js';
import { RecordingWatcher, settle, waitFor } from './helpers/RecordingWatcher.js';
import { reliabilityRig } from './helpers/reliabilityRig.js';

const { cleanups, cluster, figures, startServer, bootstrapFor, fast, newClient, record, activeResources, total, getGc } = reliabilityRig();

/**
 * The control plane killed mid-stream and restarted on the same port: the cache keeps serving,
 * reconnect attempts back off (bounded, growing), and the restarted server's config is picked up.
 * `start` starts a server (on `port` when given); `options` is the client for a server's port.
 */
async function killedAndRestarted(label: string, start: (port?: number) => Promise<{ server: AdsServer; port: number }>, options: (port: number) => XdsClientOptions): Promise<void> {
  const first = await start();
  first.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 1) }, { version: 'v1' });
  const client = newClient(options(first.port));
  const failures: { at: number; retryInMs: number }[] = [];
  client.on('disconnected', (e) => void (e.hadResponse ? undefined : failures.push({ at: Date.now(), retryInMs: e.retryInMs })));
  const w = new RecordingWatcher<Cluster>();
  client.watch(ClusterResource, 'c1', w);
  await w.nextOf('resource', 5000);

  const killedAt = Date.now();
  await first.server.close();
  const windowMs = 1300;
  await settle(windowMs);
  // Through the outage the cache serves: a new watcher still gets c1; nobody hears of deletion.
  const during = new RecordingWatcher<Cluster>();
  client.watch(ClusterResource, 'c1', during);
  expect((await during.nextOf('resource', 1000)).resource.connect_timeout).toBe(1000);
  expect(w.pending.filter((e) => e.kind !== 'resource')).toEqual([]);

  const attempts = failures.filter((f) => f.at - killedAt <= windowMs);
  const intervals = attempts.slice(1).map((f, i) => f.at - attempts[i]!.at);
  // Delays 40, 80, 160, 320, 640 ms: at most ~6 attempts fit in 1.3 s; never a tight loop.
  expect(attempts.length).toBeGreaterThanOrEqual(3);
  expect(attempts.length).toBeLessThanOrEqual(7);
  // Growing: the scheduled delays double up to the cap (no jitter in this rig). The wall-clock
  // gaps also hold grpc-js's own connect attempt (0-100 ms here), so they are checked only
  // against the delay that was scheduled before each: never sooner (1 ms timer slack).
  expect(attempts.map((f) => f.retryInMs)).toEqual([40, 80, 160, 320, 640, 640, 640].slice(0, attempts.length));
  for (let i = 0; i < intervals.length; i++) expect(intervals[i]!).toBeGreaterThanOrEqual(attempts[i]!.retryInMs - 1);

  const second = await start(first.port);
  second.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 7) }, { version: 'v2' });
  const restartedAt = Date.now();
  expect((await w.nextOf('resource', 5000)).resource.connect_timeout).toBe(7000);
  figures(label, { window_ms: windowMs, reconnect_attempts: attempts.length, intervals_ms: intervals, reconnected_after_restart_ms: Date.now() - restartedAt });
}

for (const delta of [false, true]) {
  const mode = delta ? 'delta' : 'sotw';
  describe(`reliability: control-plane faults (${mode})`, () => {
    it('killed mid-stream: cache keeps serving, reconnect attempts back off (bounded, growing), restart on the same port is picked up', async () => {
      await killedAndRestarted(`killed-restarted/${mode}`, startServer, (port) => ({ bootstrap: bootstrapFor([port]), delta }));
    });

    it('hung (responses held past the does-not-exist timer): cached resources keep serving, no reconnect storm, a new name times out, resume delivers', async () => {
      const { server, port } = await startServer();
      const opens = record<unknown>(server, 'stream-open');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 1), c2: cluster('c2', 2) }, { version: 'v1' });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const w = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w);
      await w.nextOf('resource');

      server.pause();
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 3), c2: cluster('c2', 2) }, { version: 'v2' });
      const fresh = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c2', fresh); // the answer is held: the client's patience runs out
      const dne = await fresh.nextOf('does-not-exist', 3000);
      expect(dne.kind).toBe('does-not-exist');
      await settle(300);
      expect(w.pending).toEqual([]); // c1 unchanged: still v1
      const c1 = client.configDump().generic_xds_configs.find((x) => x.name === 'c1')!;
      expect(c1.client_status).toBe('ACKED');
      if (!delta) expect(c1.version_info).toBe('v1');
      expect(opens.length).toBe(1); // the stream is alive; no reconnects while hung

      server.resume();
      expect((await w.nextOf('resource', 3000)).resource.connect_timeout).toBe(3000);
      expect((await fresh.nextOf('resource', 3000)).resource.name).toBe('c2'); // it can still appear
      figures(`hung/${mode}`, { held_ms: 800, dne_timeout_ms: fast.doesNotExistTimeoutMs, streams_opened: opens.length });
    });

    it('slow (every response held 300 ms): updates arrive late but whole, in order, with no NACK or reconnect', async () => {
      const { server, port } = await startServer();
      const nacks = record<AdsAckEvent>(server, 'nack');
      const opens = record<unknown>(server, 'stream-open');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 1) }, { version: 'v0' });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const w = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w);
      await w.nextOf('resource');
      const latencies: number[] = [];
      for (let i = 2; i <= 6; i++) {
        server.pause();
        const t0 = Date.now();
        server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', i) }, { version: `v${i}` });
        setTimeout(() => server.resume(), 300);
        const got = await w.nextOf('resource', 3000);
        latencies.push(Date.now() - t0);
        expect(got.resource.connect_timeout).toBe(i * 1000);
        if (!delta) expect(got.version).toBe(`v${i}`); // delta versions are per-resource hashes
      }
      expect(latencies.every((l) => l >= 290)).toBe(true);
      expect(nacks).toEqual([]);
      expect(opens.length).toBe(1);
      figures(`slow/${mode}`, { updates: latencies.length, latency_ms: latencies, nacks: nacks.length, streams_opened: opens.length });
    });

    it('garbage: a malformed Any, a wrong type_url and an invalid field are NACKed with resource + field path; the last good version keeps serving', async () => {
      const { server, port } = await startServer();
      const nacks = record<AdsAckEvent>(server, 'nack');
      server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 1), c2: cluster('c2', 2), c3: cluster('c3', 3) }, { version: 'good' });
      const client = newClient({ bootstrap: bootstrapFor([port]), delta });
      const ws = ['c1', 'c2', 'c3'].map((name) => {
        const w = new RecordingWatcher<Cluster>();
        client.watch(ClusterResource, name, w);
        return w;
      });
      for (const w of ws) await w.nextOf('resource');

      server.setResources(
        CLUSTER_TYPE_URL,
        {
          // Not a protobuf message: a length-delimited field (name) cut short, so no name can be read.
          c1: { type_url: CLUSTER_TYPE_URL, value: Buffer.from([0x0a, 0x10, 0x63, 0x31]) },
          // An Any whose type_url is not the response's (a foreign prefix).
          c2: { type_url: 'types.example.com/envoy.config.cluster.v3.Cluster', value: Buffer.from([0x0a, 0x02, 0x63, 0x32]) },
          // Decodes, fails validation.
          c3: cluster('c3', 3, { outlier_detection: { max_ejection_percent: { value: 150 } } }),
        },
        { version: 'garbage' },
      );
      const nack = await waitFor(() => nacks[0], 5000, 'NACK');
      const detail = nack.errorDetail!;
      expect(detail.code).toBe(3);
      const lines = detail.message.split("\n");
      expect(lines).toHaveLength(3);
      expect(detail.message).toContain('cluster "c3": outlier_detection.max_ejection_percent: must be at most 100');
      expect(detail.message).toContain('cluster "c2": type_url types.example.com/envoy.config.cluster.v3.Cluster does not match');
      if (delta) expect(detail.message).toMatch(/cluster "c1": /); // delta names every resource
      if (!delta) expect(nack.versionInfo).toBe('good');

      await settle(100);
      const dump = client.configDump().generic_xds_configs;
      for (const name of ['c1', 'c3']) expect(dump.find((x) => x.name === name)).toMatchObject({ version_info: delta ? expect.any(String) : 'good' });
      // Every watcher still holds its last good resource.
      for (const [i, name] of ['c1', 'c2', 'c3'].entries()) {
        const late = new RecordingWatcher<Cluster>();
        client.watch(ClusterResource, name, late);
        expect((await late.nextOf('resource', 1000)).resource.connect_timeout).toBe((i + 1) * 1000);
      }
      figures(`garbage/${mode}`, { nacks: nacks.length, nack_lines: lines });
    });
  });
}

describe('reliability: control-plane faults over mTLS ADS (sotw)', () => {
  // The killed-and-restarted case above, with ADS over mutual TLS as istiod serves it on 15012:
  // certificates made now (a dev CA, node-forge), a server that requires the client's, and a
  // reconnect that has to complete a new handshake against the restarted server.
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-reliability-mtls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ca = DevCertificateAuthority.create({ trustDomain: 'cluster.local' });
  const serving = ca.issue({ subjectAltNames: [{ type: 'DNS', value: 'istiod.istio-system.svc' }] });
  const workload = ca.issueWorkload({ namespace: 'default', serviceAccount: 'app' });
  const files = { root: join(dir, 'root-cert.pem'), cert: join(dir, 'cert-chain.pem'), key: join(dir, 'key.pem') };
  writeFileSync(files.root, ca.certificatePem);
  writeFileSync(files.cert, workload.certChain);
  writeFileSync(files.key, workload.privateKey);

  async function startMtlsServer(port = 0): Promise<{ server: AdsServer; port: number }> {
    const server = new AdsServer();
    const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certificatePem), [{ cert_chain: Buffer.from(serving.certChain), private_key: Buffer.from(serving.privateKey) }], true);
    const bound = await server.listen(port, '127.0.0.1', creds);
    cleanups.push(() => server.close());
    return { server, port: bound.port };
  }

  function mtlsBootstrap(port: number) {
    return {
      xds_servers: [
        {
          server_uri: `127.0.0.1:${port}`,
          channel_creds: [{ type: 'tls', config: { ca_certificate_file: files.root, certificate_file: files.cert, private_key_file: files.key } }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local', cluster: 'app' },
    };
  }

  it('killed mid-stream: cache keeps serving, reconnect attempts back off (bounded, growing), restart on the same port over mTLS is picked up', async () => {
    // The same bounds as over plaintext: a TLS handshake that cannot start fails as fast as a TCP connect.
    await killedAndRestarted('killed-restarted/sotw/mtls', startMtlsServer, (port) => ({
      bootstrap: mtlsBootstrap(port),
      // Verify the server as istiod's certificate (its DNS SAN) while dialing loopback.
      channelOptions: { ...fast.channelOptions, 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' },
    }));
  });
});
