import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { StaticResourceSource } from '@meshlet/xds-client';
import { CertificateProviderRegistry, DevCertificateAuthority, FileWatcherCertificateProvider, writeWorkloadCertificates } from '@meshlet/core';
import { createMeshDispatcher } from '@meshlet/http';
import { applyMesh } from './helpers/meshConfig.js';

const TARGET = 'reviews.default.svc.cluster.local:9080';
let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('certificate rotation under steady load', () => {
  it('rotates the client certificate (file_watcher) with zero failed requests; new connections use the new certificate', async () => {
    const ca = DevCertificateAuthority.create();
    // The sidecar-like server: requires client certificates from the CA, records each connection's client serial.
    const serverCert = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });
    const serials = new Set<string>();
    const server: Server = createServer(
      { cert: serverCert.certChain, key: serverCert.privateKey, ca: serverCert.caBundle, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['istio-http/1.1', 'http/1.1'] },
      (req, res) => {
        serials.add((req.socket as TLSSocket).getPeerCertificate().serialNumber);
        res.writeHead(200).end('ok');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

    // The files istio-agent writes, read by the bootstrap's file_watcher provider.
    const dir = mkdtempSync(join(tmpdir(), 'meshlet-rotate-'));
    writeWorkloadCertificates({ dir, namespace: 'default', serviceAccount: 'productpage', ca });
    const provider = new FileWatcherCertificateProvider(
      'default',
      { certificate_file: join(dir, 'cert-chain.pem'), private_key_file: join(dir, 'key.pem'), ca_certificate_file: join(dir, 'root-cert.pem'), refresh_interval: 60_000 },
      { debounceMs: 20 },
    );
    await provider.ready();
    const source = new StaticResourceSource();
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'outbound|9080||reviews.default.svc.cluster.local',
          ports: [(server.address() as AddressInfo).port],
          cluster: {
            transport_socket: {
              name: 'envoy.transport_sockets.tls',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
                common_tls_context: {
                  tls_certificate_provider_instance: { instance_name: 'default' },
                  combined_validation_context: {
                    default_validation_context: { match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }] },
                    validation_context_certificate_provider_instance: { instance_name: 'default' },
                  },
                },
              },
            },
          },
        },
      ],
    });
    // Short keep-alive so connections turn over during the test and pick up the new material.
    const dispatcher = await createMeshDispatcher({ source, certificateProviders: CertificateProviderRegistry.of({ default: provider }), agent: { keepAliveTimeout: 50, keepAliveMaxTimeout: 50 } });
    cleanups.push(() => dispatcher.destroy(), () => provider.close());

    let sent = 0;
    let failed = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        sent++;
        try {
          const res = await request(`http://${TARGET}/`, { dispatcher, reset: sent % 10 === 0 });
          if (res.statusCode !== 200) failed++;
          await res.body.dump();
        } catch {
          failed++;
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    // Counted in requests, not time: a loaded machine makes fewer requests per second (bounded waits).
    const until = async (done: () => boolean, maxMs: number) => {
      for (const end = Date.now() + maxMs; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    };
    await until(() => sent >= 50, 8_000);
    const before = new Set(serials);
    // Rotate: istio-agent rewrites the files with a new certificate for the same identity.
    writeWorkloadCertificates({ dir, namespace: 'default', serviceAccount: 'productpage', ca });
    const rotatedAt = sent;
    await until(() => sent - rotatedAt >= 100 && serials.size >= 2, 15_000);
    running = false;
    await Promise.all(workers);

    console.log(`ROTATION ${JSON.stringify({ sent, failed, sentAfterRotation: sent - rotatedAt, serialsBefore: before.size, serialsTotal: serials.size })}`);
    expect(sent).toBeGreaterThan(100);
    expect(failed).toBe(0);
    expect(before.size).toBe(1);
    expect(serials.size).toBe(2); // connections made after the rotation present the new certificate
  }, 40_000);
});
