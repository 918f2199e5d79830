import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request, type Dispatcher } from 'undici';
import { bindCertificateMetrics, DevCertificateAuthority } from '@meshlet/core';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { createMeshDispatcher } from '@meshlet/http';
import { encodeAny } from '@meshlet/xds-client';
import { bootstrapFor, FAST_XDS, figures, meshSnapshot, startAds, URL_ } from './helpers/reliabilityMesh.js';

/**
 * The bootstrap's file_watcher certificate provider and the first mTLS connections (issue 8):
 * the provider starts when the dispatcher is created, and a connection opened before it has read
 * its files waits for them (bounded by the cluster's connect_timeout) instead of failing with UF.
 * Everything is real: an AdsServer on loopback, an HTTPS backend requiring client certificates from
 * a CA made here, files written by the test.
 */
const root = mkdtempSync(join(tmpdir(), 'meshlet-first-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ca = DevCertificateAuthority.create({ trustDomain: 'cluster.local' });
const client = ca.issueWorkload({ namespace: 'default', serviceAccount: 'app' });
const serverCert = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });

let dirs = 0;
/** A fresh directory and the paths istio-agent would write there. */
function certFiles() {
  const dir = join(root, `certs-${++dirs}`);
  mkdirSync(dir);
  const files = { root: join(dir, 'root-cert.pem'), cert: join(dir, 'cert-chain.pem'), key: join(dir, 'key.pem') };
  return {
    files,
    write() {
      writeFileSync(files.root, ca.certificatePem);
      writeFileSync(files.cert, client.certChain);
      writeFileSync(files.key, client.privateKey, { mode: 0o600 });
    },
  };
}

async function secureBackend(): Promise<number> {
  const https: Server = createServer({ cert: serverCert.certChain, key: serverCert.privateKey, ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true }, (_q, res) => res.writeHead(200).end('secure'));
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (https.closeAllConnections(), https.close(() => r()))));
  return (https.address() as AddressInfo).port;
}

/** An AdsServer serving TARGET -> an mTLS cluster reading certificate provider instance "default". */
async function meshWithMtlsCluster(backendPort: number, connectTimeoutSeconds: number): Promise<number> {
  const { server, port } = await startAds();
  cleanups.push(() => server.close());
  const snapshot = meshSnapshot({ cluster: 'mtls', ports: [backendPort] });
  const common = {
    tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
    combined_validation_context: {
      default_validation_context: { match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }] },
      validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
    },
  };
  server.setSnapshot({
    ...snapshot,
    clusters: [
      {
        name: 'mtls',
        type: 'EDS',
        eds_cluster_config: { eds_config: { ads: {} } },
        connect_timeout: { seconds: connectTimeoutSeconds },
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: encodeAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', { common_tls_context: common, sni: 'reviews.test' }),
        },
      },
    ],
  });
  return port;
}

function bootstrap(adsPort: number, files: { root: string; cert: string; key: string }) {
  return {
    ...bootstrapFor([adsPort]),
    certificate_providers: {
      // 600 s as istio-agent writes it: only the start-up path, not the interval, can load the files in time.
      default: { plugin_name: 'file_watcher', config: { certificate_file: files.cert, private_key_file: files.key, ca_certificate_file: files.root, refresh_interval: '600s' } },
    },
  };
}

async function send(dispatcher: Dispatcher) {
  const started = performance.now();
  const res = await request(`${URL_}/first`, { dispatcher, headersTimeout: 20_000, bodyTimeout: 20_000 });
  const body = await res.body.text();
  return { status: res.statusCode, flags: String(res.headers['x-meshlet-response-flags'] ?? ''), body, ms: Math.round(performance.now() - started) };
}

describe('file_watcher certificate provider: the first mTLS requests', () => {
  it('files present at start: the very first request after createMeshDispatcher succeeds', async () => {
    const { files, write } = certFiles();
    write();
    const adsPort = await meshWithMtlsCluster(await secureBackend(), 5);
    const dispatcher = await createMeshDispatcher({ bootstrap: bootstrap(adsPort, files), xds: FAST_XDS });
    cleanups.push(() => dispatcher.destroy());
    const first = await send(dispatcher);
    figures('certificates: first request right after createMeshDispatcher', first);
    expect(first).toMatchObject({ status: 200, body: 'secure', flags: '' });

    // The registry built from the bootstrap is reachable, so certificate-expiry metrics can bind to it.
    const registry = dispatcher.certificateProviders;
    expect(registry).toBeDefined();
    expect([...registry!.started()].map(([name]) => name)).toEqual(['default']);
    const reader = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const periodic = new PeriodicExportingMetricReader({ exporter: reader, exportIntervalMillis: 60_000 });
    const meterProvider = new MeterProvider({ readers: [periodic] });
    cleanups.push(() => meterProvider.shutdown());
    const binding = bindCertificateMetrics(registry!, { meterProvider });
    cleanups.push(() => binding.dispose());
    const { resourceMetrics } = await periodic.collect();
    const points = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === 'meshlet_certificate_expiry_seconds').flatMap((m) => m.dataPoints as Array<{ attributes: Record<string, unknown>; value: unknown }>);
    expect(points.map((p) => p.attributes['provider'])).toEqual(['default']);
    // The dev CA's workload certificates live for hours, not seconds.
    expect(points[0]!.value as number).toBeGreaterThan(3600);
  });

  it('files written 300 ms after the first request: it waits for them and succeeds', async () => {
    const { files, write } = certFiles();
    const adsPort = await meshWithMtlsCluster(await secureBackend(), 10);
    const dispatcher = await createMeshDispatcher({ bootstrap: bootstrap(adsPort, files), xds: FAST_XDS });
    cleanups.push(() => dispatcher.destroy());
    const pending = send(dispatcher);
    const writer = new Promise<void>((r) =>
      setTimeout(() => {
        write();
        r();
      }, 300),
    );
    const [first] = await Promise.all([pending, writer]);
    figures('certificates: files written 300 ms after the first request', first);
    expect(first).toMatchObject({ status: 200, body: 'secure', flags: '' });
    // It really waited for the files (they did not exist before 300 ms).
    expect(first.ms).toBeGreaterThanOrEqual(250);
    // And the next request uses the connection or material already there.
    expect(await send(dispatcher)).toMatchObject({ status: 200, body: 'secure' });
  });

  it('files missing: the request fails with UF within the connect timeout, naming the missing file', async () => {
    const { files } = certFiles();
    const adsPort = await meshWithMtlsCluster(await secureBackend(), 1);
    const dispatcher = await createMeshDispatcher({ bootstrap: bootstrap(adsPort, files), xds: FAST_XDS });
    cleanups.push(() => dispatcher.destroy());
    const first = await send(dispatcher);
    figures('certificates: files missing, connect_timeout 1 s', { ...first, body: first.body.slice(0, 600) });
    expect(first.status).toBe(503);
    expect(first.flags).toContain('UF');
    // Which provider, that it never loaded, and the file it could not read.
    expect(first.body).toContain('certificate provider "default"');
    expect(first.body).toMatch(/no material yet: ENOENT: no such file or directory, open '[^']*(cert-chain|key|root-cert)\.pem'/);
    // It waited for the connect timeout (1 s), not longer than the bound the test allows on a loaded machine.
    expect(first.ms).toBeGreaterThanOrEqual(900);
    expect(first.ms).toBeLessThan(8000);
  });
});
