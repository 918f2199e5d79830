import * as grpc from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  CertificateProviderRegistry,
  DevCertificateAuthority,
  ISTIO_CERT_CHAIN_FILE,
  ISTIO_KEY_FILE,
  ISTIO_ROOT_CERT_FILE,
  Mesh,
  spiffeIdOfCertificate,
  writeWorkloadCertificates,
} from '@meshlet/core';
import { XdsClient } from '@meshlet/xds-client';
import { meshClientOptions } from '@meshlet/grpc';
import { ECHO_SERVICE, EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';
import { CLIENT_ID, SERVER_ID, istioMutualSocket } from './helpers/istioMutualTls.js';
import { bootstrapFor, FAST_XDS, figures, meshSnapshot, startAds, TARGET } from '../../http/test/helpers/reliabilityMesh.js';

/**
 * The bootstrap's file_watcher certificate provider and the first gRPC mTLS calls (issue 8), as
 * packages/http/test/certificate-first-load.test.ts does for HTTP: the provider starts with the
 * MeshChannel, and a connection opened before it has read its files waits for them (bounded by
 * the cluster's connect_timeout) instead of failing with UF. Everything is real: an AdsServer on
 * loopback, a grpc-js TLS server requiring client certificates from a CA made here, files written
 * by the test.
 */
const root = mkdtempSync(join(tmpdir(), 'meshlet-grpc-first-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ca = DevCertificateAuthority.create({ trustDomain: 'cluster.local' });
const serverCert = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });

let dirs = 0;
/** A fresh (existing, empty) directory, the paths istio-agent writes there, and the write itself (productpage's identity). */
function certFiles() {
  const dir = join(root, `certs-${++dirs}`);
  mkdirSync(dir);
  return {
    files: { root: join(dir, ISTIO_ROOT_CERT_FILE), cert: join(dir, ISTIO_CERT_CHAIN_FILE), key: join(dir, ISTIO_KEY_FILE) },
    write: () => writeWorkloadCertificates({ dir, ca, namespace: 'default', serviceAccount: 'productpage' }),
  };
}

/**
 * A sidecar-like grpc-js server: TLS, client certificates required and checked against the CA.
 * Records each caller's SPIFFE id and address (the client's port tells its connections apart).
 */
async function secureBackend(): Promise<{ port: number; peers: string[]; addresses: string[] }> {
  const peers: string[] = [];
  const addresses: string[] = [];
  const server = new grpc.Server();
  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    peers.push(String(spiffeIdOfCertificate(call.getAuthContext().sslPeerCertificate!.raw)));
    addresses.push(call.getPeer());
    callback(null, Buffer.from('secure'));
  };
  server.addService(ECHO_SERVICE, { Echo: handler, Other: handler, Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => call.end(), Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.end() });
  const credentials = grpc.ServerCredentials.createSsl(Buffer.from(ca.certificatePem), [{ cert_chain: Buffer.from(serverCert.certChain), private_key: Buffer.from(serverCert.privateKey) }], true);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  cleanups.push(() => new Promise<void>((resolve) => {
    server.tryShutdown(() => resolve());
    server.forceShutdown();
  }));
  return { port, peers, addresses };
}

/** An AdsServer serving TARGET -> an ISTIO_MUTUAL cluster (certificate provider instance "default") -> the backend. */
async function meshWithMtlsCluster(backendPort: number, connectTimeoutSeconds: number): Promise<number> {
  const { server, port } = await startAds();
  cleanups.push(() => server.close());
  const snapshot = meshSnapshot({ cluster: 'mtls', ports: [backendPort] });
  server.setSnapshot({
    ...snapshot,
    clusters: [{ name: 'mtls', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: connectTimeoutSeconds }, transport_socket: istioMutualSocket([SERVER_ID]) }],
  });
  return port;
}

/**
 * The application's start-up as documented for gRPC: an XdsClient from the bootstrap, the
 * bootstrap's certificate providers, a client whose MeshChannel starts them; nothing awaited in
 * between, so the first call races the provider's first read.
 */
async function startClient(adsPort: number, files: { root: string; cert: string; key: string }): Promise<{ client: EchoClient; providers: CertificateProviderRegistry }> {
  const xds = new XdsClient({
    ...FAST_XDS,
    bootstrap: {
      ...bootstrapFor([adsPort]),
      certificate_providers: {
        // 600 s as istio-agent writes it: only the start-up path, not the interval, can load the files in time.
        default: { plugin_name: 'file_watcher', config: { certificate_file: files.cert, private_key_file: files.key, ca_certificate_file: files.root, refresh_interval: '600s' } },
      },
    },
  });
  const mesh = await Mesh.create({ source: xds });
  const providers = CertificateProviderRegistry.fromBootstrap(xds.bootstrap.certificate_providers);
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds:///${TARGET}`, { certificateProviders: providers }));
  cleanups.push(async () => {
    client.close();
    mesh.close();
    providers.close();
    await xds.close();
  });
  return { client, providers };
}

async function call(client: EchoClient) {
  const started = performance.now();
  // A generous deadline: the bound under test is the cluster's connect_timeout, not this.
  const outcome = await unary(client, { deadline: Date.now() + 20_000 });
  return { ...outcome, ms: Math.round(performance.now() - started) };
}

describe('file_watcher certificate provider: the first gRPC mTLS calls', () => {
  it('files present at start: the very first call right after the client is created succeeds', async () => {
    const { files, write } = certFiles();
    await write();
    const backend = await secureBackend();
    const { client } = await startClient(await meshWithMtlsCluster(backend.port, 5), files);
    const first = await call(client);
    figures('grpc certificates: first call right after the client is created', first);
    expect(first).toMatchObject({ ok: true, body: 'secure', code: grpc.status.OK });
    expect(backend.peers).toEqual([CLIENT_ID]);
  });

  it('files written 300 ms after the first call: the call waits for them and succeeds', async () => {
    const { files, write } = certFiles();
    const backend = await secureBackend();
    const { client } = await startClient(await meshWithMtlsCluster(backend.port, 10), files);
    const pending = call(client);
    const writer = new Promise<void>((resolve, reject) => setTimeout(() => write().then(() => resolve(), reject), 300));
    const [first] = await Promise.all([pending, writer]);
    figures('grpc certificates: files written 300 ms after the first call', first);
    expect(first).toMatchObject({ ok: true, body: 'secure', code: grpc.status.OK });
    // It really waited for the files (they did not exist before 300 ms).
    expect(first.ms).toBeGreaterThanOrEqual(250);
    // The next call succeeds too, with the workload identity from the files, on the connection the
    // wait opened (the credentials took the material they waited for, so the channel was kept).
    expect(await call(client)).toMatchObject({ ok: true, body: 'secure' });
    expect(backend.peers).toEqual([CLIENT_ID, CLIENT_ID]);
    expect(new Set(backend.addresses).size).toBe(1);
  });

  it('files missing: the call fails UNAVAILABLE (UF) within the connect timeout, naming the missing file; the next call waits again', async () => {
    const { files, write } = certFiles();
    const backend = await secureBackend();
    const { client, providers } = await startClient(await meshWithMtlsCluster(backend.port, 1), files);
    const first = await call(client);
    figures('grpc certificates: files missing, connect_timeout 1 s', { ...first, details: first.details.slice(0, 600) });
    expect(first.ok).toBe(false);
    expect(first.code).toBe(grpc.status.UNAVAILABLE);
    expect(first.details).toContain('(UF)');
    // Which provider, that it never loaded, and the file it could not read.
    expect(first.details).toMatch(/meshlet mTLS: no TLS material after waiting 1000 ms: certificate provider "default" has none/);
    expect(first.details).toMatch(/no material yet: ENOENT: no such file or directory, open '[^']*(cert-chain|key|root-cert)\.pem'/);
    // It waited for the connect timeout (1 s), and not for the call's 20 s deadline.
    expect(first.ms).toBeGreaterThanOrEqual(900);
    expect(first.ms).toBeLessThan(8000);
    expect(backend.peers).toEqual([]);

    // A later call waits again (a new wait, not the failed channel's last error at once)...
    const second = await call(client);
    figures('grpc certificates: files still missing, second call', { ...second, details: second.details.slice(0, 200) });
    expect(second).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(second.details).toMatch(/no TLS material after waiting 1000 ms/);
    expect(second.ms).toBeGreaterThanOrEqual(900);
    // ...and once the provider has read the files, calls succeed (waiting for the read here keeps
    // the provider's retry cadence out of the 1 s bound on a loaded machine).
    await write();
    await providers.get('default').ready();
    const third = await call(client);
    figures('grpc certificates: files written after two failed calls', third);
    expect(third).toMatchObject({ ok: true, body: 'secure' });
    expect(backend.peers).toEqual([CLIENT_ID]);
  });
});
