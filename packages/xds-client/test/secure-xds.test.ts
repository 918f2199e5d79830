import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AdsServer } from '../../control-plane/src/server/index.js';
import { DevCertificateAuthority } from '../../core/src/identity/index.js';
import { XdsClient, silentLogger, type Logger } from '../src/client/index.js';
import { CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterResource } from '../src/resources/index.js';
import type { Cluster } from '../src/resources/model.js';
import { RecordingWatcher } from './helpers/RecordingWatcher.js';
import { istioToken } from './helpers/jwt.js';

/**
 * istiod's 15012 port without istio-agent: TLS verified against the mesh root, plus the pod's
 * service-account JWT as a gRFC A97 call credential, against a real AdsServer on loopback.
 */
const dir = mkdtempSync(join(tmpdir(), 'meshlet-secure-xds-'));
const ca = DevCertificateAuthority.create({ trustDomain: 'cluster.local' });
// istiod's serving certificate names its Service.
const serving = ca.issue({ subjectAltNames: [{ type: 'DNS', value: 'istiod.istio-system.svc' }] });
const client = ca.issueWorkload({ namespace: 'default', serviceAccount: 'app' });
const files = {
  root: join(dir, 'root-cert.pem'),
  cert: join(dir, 'cert-chain.pem'),
  key: join(dir, 'key.pem'),
  token: join(dir, 'istio-token'),
};
writeFileSync(files.root, ca.certificatePem);
writeFileSync(files.cert, client.certChain);
writeFileSync(files.key, client.privateKey);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cluster = { name: 'outbound|8080||reviews.default.svc.cluster.local', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 } };

async function secureServer(options: { requireClientCert?: boolean; port?: number } = {}) {
  const authorizations: string[] = [];
  const server = new AdsServer({ onStreamMetadata: (md) => authorizations.push(...md.get('authorization').map(String)) });
  server.setResources(CLUSTER_TYPE_URL, { [cluster.name]: cluster });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certificatePem), [{ cert_chain: Buffer.from(serving.certChain), private_key: Buffer.from(serving.privateKey) }], options.requireClientCert ?? false);
  const { port } = await server.listen(options.port ?? 0, '127.0.0.1', creds);
  cleanups.push(() => server.close());
  return { server, port, authorizations };
}

function bootstrap(port: number, tlsConfig: Record<string, string> = { ca_certificate_file: files.root }, tokenFile = files.token) {
  return {
    xds_servers: [
      {
        server_uri: `127.0.0.1:${port}`,
        channel_creds: [{ type: 'tls', config: tlsConfig }],
        call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: tokenFile } }],
        server_features: ['xds_v3'],
      },
    ],
    node: { id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local', cluster: 'app', metadata: { GENERATOR: 'grpc' } },
  };
}

function newClient(bootstrapDoc: object, logger: Logger = silentLogger): XdsClient {
  const c = new XdsClient({
    bootstrap: bootstrapDoc,
    logger,
    backoff: { initialMs: 20, maxMs: 100 },
    doesNotExistTimeoutMs: 2000,
    // Verify the certificate as istiod's (its DNS SAN) while dialing loopback; reconnect fast.
    channelOptions: { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 100 },
  });
  cleanups.push(() => c.close());
  return c;
}

describe('secure xDS: tls channel creds + jwt_token_file call creds (istiod 15012)', () => {
  it('receives resources over TLS and the server sees the bearer token', async () => {
    const jwt = istioToken();
    writeFileSync(files.token, jwt);
    const { port, authorizations } = await secureServer();
    const watcher = new RecordingWatcher<Cluster>();
    const logged: string[] = [];
    const record = (m: string, f?: Record<string, unknown>) => void logged.push(`${m} ${JSON.stringify(f ?? {})}`);
    newClient(bootstrap(port), { debug: record, info: record, warn: record, error: record }).watch(ClusterResource, cluster.name, watcher);
    const e = await watcher.nextOf('resource');
    expect(e.resource.name).toBe(cluster.name);
    expect(authorizations).toEqual([`Bearer ${jwt}`]);
    // Every level, debug included, was recorded: the token is in none of it.
    expect(logged.some((l) => l.includes('xDS response'))).toBe(true);
    expect(logged.join('\n')).not.toContain(jwt.split('.')[1]!);
  });

  it('mTLS: presents the workload certificate to a server that requires one', async () => {
    writeFileSync(files.token, istioToken());
    const { port } = await secureServer({ requireClientCert: true });
    const watcher = new RecordingWatcher<Cluster>();
    newClient(bootstrap(port, { ca_certificate_file: files.root, certificate_file: files.cert, private_key_file: files.key })).watch(ClusterResource, cluster.name, watcher);
    expect((await watcher.nextOf('resource')).resource.name).toBe(cluster.name);
  });

  it('a rotated token is sent on the next stream', async () => {
    const first = istioToken(3600, 'first');
    writeFileSync(files.token, first);
    const a = await secureServer();
    const watcher = new RecordingWatcher<Cluster>();
    newClient(bootstrap(a.port)).watch(ClusterResource, cluster.name, watcher);
    await watcher.nextOf('resource');
    const second = istioToken(7200, 'second');
    writeFileSync(files.token, second);
    // istiod restarts (same port): the client reconnects and authenticates with the new token.
    await a.server.close();
    const b = await secureServer({ port: a.port });
    const deadline = Date.now() + 5000;
    while (b.authorizations.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(a.authorizations).toEqual([`Bearer ${first}`]);
    expect(b.authorizations[0]).toBe(`Bearer ${second}`);
  });

  it('a missing token file fails the stream with an error naming the file; the token is never logged', async () => {
    const missing = join(dir, 'no-such-token');
    const { authorizations } = await secureServer().then(async (s) => {
      const logged: string[] = [];
      const logger: Logger = { debug: (m, f) => logged.push(m + JSON.stringify(f)), info: (m, f) => logged.push(m + JSON.stringify(f)), warn: (m, f) => logged.push(m + JSON.stringify(f)), error: (m, f) => logged.push(m + JSON.stringify(f)) };
      const watcher = new RecordingWatcher<Cluster>();
      newClient(bootstrap(s.port, undefined, missing), logger).watch(ClusterResource, cluster.name, watcher);
      const e = await watcher.nextOf('error');
      expect(e.error.message).toContain(missing);
      expect(e.error.message).toMatch(/cannot read the JWT token file .*ENOENT/);
      expect(logged.join('\n')).toContain(missing);
      return s;
    });
    expect(authorizations).toEqual([]); // no RPC reached the server without a token
  });

  it('an invalid token file (no exp) fails UNAUTHENTICATED, naming the file, without leaking the content', async () => {
    const bad = join(dir, 'bad-token');
    writeFileSync(bad, 'secret-looking-garbage');
    const { port, authorizations } = await secureServer();
    const watcher = new RecordingWatcher<Cluster>();
    newClient(bootstrap(port, undefined, bad)).watch(ClusterResource, cluster.name, watcher);
    const e = await watcher.nextOf('error');
    expect(e.error.message).toContain(`UNAUTHENTICATED`);
    expect(e.error.message).toContain(bad);
    expect(e.error.message).not.toContain('secret-looking-garbage');
    expect(authorizations).toEqual([]);
  });

  it('a server certificate from another CA is refused (no plaintext fallback)', async () => {
    writeFileSync(files.token, istioToken());
    const otherRoot = join(dir, 'other-root.pem');
    writeFileSync(otherRoot, DevCertificateAuthority.create({ trustDomain: 'other.local' }).certificatePem);
    const { port, authorizations } = await secureServer();
    const watcher = new RecordingWatcher<Cluster>();
    newClient(bootstrap(port, { ca_certificate_file: otherRoot })).watch(ClusterResource, cluster.name, watcher);
    const e = await watcher.nextOf('error');
    expect(e.error.message).toMatch(/UNAVAILABLE/);
    expect(authorizations).toEqual([]);
  });
});
