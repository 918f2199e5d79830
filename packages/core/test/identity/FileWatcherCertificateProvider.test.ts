import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CertificateProviderRegistry,
  DevCertificateAuthority,
  FileWatcherCertificateProvider,
  StaticCertificateProvider,
  UpstreamTlsFactory,
  connectTls,
  parseProtoJsonDuration,
  writeWorkloadCertificates,
  type CertificateMaterial,
} from '../../src/identity/index.js';
import { ISTIO_ENDPOINT_METADATA, grpcGeneratorTlsSocket, istioCluster, readLine, startTlsServer } from './fixtures.js';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlet-fw-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

/** The bootstrap istio-agent writes, pointing at `dir`. */
function istioAgentProviders(refresh = '900s') {
  return {
    default: {
      plugin_name: 'file_watcher',
      config: {
        certificate_file: join(dir, 'cert-chain.pem'),
        private_key_file: join(dir, 'key.pem'),
        ca_certificate_file: join(dir, 'root-cert.pem'),
        refresh_interval: refresh,
      },
    },
  };
}

function nextUpdate(provider: FileWatcherCertificateProvider): Promise<CertificateMaterial> {
  return new Promise((resolve) => {
    const d = provider.onUpdate((m) => {
      d.dispose();
      resolve(m);
    });
  });
}

describe('FileWatcherCertificateProvider', () => {
  it('loads the istio-agent files from a bootstrap certificate_providers entry', async () => {
    const written = await writeWorkloadCertificates({ dir, namespace: 'default', serviceAccount: 'productpage' });
    const registry = CertificateProviderRegistry.fromBootstrap(istioAgentProviders());
    cleanups.push(() => registry.close());
    const provider = registry.get('default') as FileWatcherCertificateProvider;
    expect(provider.config.refresh_interval).toBe(900_000);
    const material = await provider.ready();
    expect(new X509Certificate(material.certChain!).subjectAltName).toContain(written.spiffeId.toString());
    expect(material.caBundle).toBe(written.ca.certificatePem);
    expect(material.notAfter?.getTime()).toBe(written.notAfter.getTime());
  });

  it('rotates on file change; new connections present the new certificate', async () => {
    const first = await writeWorkloadCertificates({ dir, namespace: 'default', serviceAccount: 'productpage' });
    const ca = first.ca;
    const provider = new FileWatcherCertificateProvider('default', FileWatcherCertificateProvider.parseConfig(istioAgentProviders()['default'].config), { debounceMs: 20 });
    cleanups.push(() => provider.close());
    await provider.ready();
    const registry = CertificateProviderRegistry.of({ default: provider });
    const reviews = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });
    const srv = await startTlsServer({ cert: reviews.certChain, key: reviews.privateKey, ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true });
    cleanups.push(() => srv.close());
    const factory = new UpstreamTlsFactory(registry);
    const cluster = istioCluster(grpcGeneratorTlsSocket([{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }]));
    const connect = async () => {
      const s = await connectTls({ ...factory.connectionOptions(cluster, ISTIO_ENDPOINT_METADATA, 'http/1.1')!, host: '127.0.0.1', port: srv.port });
      await readLine(s);
      s.destroy();
    };
    await connect();

    const updated = nextUpdate(provider);
    const second = await writeWorkloadCertificates({ dir, namespace: 'default', serviceAccount: 'productpage', ca });
    await updated; // via fs.watch, well before the 900 s interval
    await connect();
    const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;
    expect(provider.current()!.certChain).toBe(second.issued.certChain);
    expect(srv.peerSerials).toEqual([serialOf(first.issued.certChain), serialOf(second.issued.certChain)]);
  });

  it('keeps the previous material and reports an error on a half-written or mismatched file', async () => {
    const first = await writeWorkloadCertificates({ dir, namespace: 'default', serviceAccount: 'productpage' });
    const provider = new FileWatcherCertificateProvider('default', FileWatcherCertificateProvider.parseConfig(istioAgentProviders()['default'].config), { watchFileSystem: false });
    cleanups.push(() => provider.close());
    const before = await provider.ready();
    const errors: string[] = [];
    provider.onError((e) => errors.push(e.message));
    let updates = 0;
    provider.onUpdate(() => updates++);

    // Half-written: the certificate file is truncated mid-PEM.
    const certPem = before.certChain!;
    await writeFile(join(dir, 'cert-chain.pem'), certPem.slice(0, certPem.length / 2));
    await provider.refresh();
    expect(provider.current()).toBe(before);
    expect(errors[0]).toMatch(/^certificate provider "default" \(file_watcher\): keeping previous material: certificate chain has no PEM CERTIFICATE block/);

    // A new certificate whose key has not been written yet.
    const next = first.ca.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' });
    await writeFile(join(dir, 'cert-chain.pem'), next.certChain);
    await provider.refresh();
    expect(provider.current()).toBe(before);
    expect(errors[1]).toMatch(/private key does not match the leaf certificate/);

    // The key lands: the rotation completes.
    await writeFile(join(dir, 'key.pem'), next.privateKey);
    await provider.refresh();
    expect(provider.current()?.certChain).toBe(next.certChain);
    expect(updates).toBe(1);
    expect(errors).toHaveLength(2);
  });

  it('reloads at refresh_interval without file-system events', async () => {
    const first = await writeWorkloadCertificates({ dir, namespace: 'a', serviceAccount: 'b' });
    const provider = new FileWatcherCertificateProvider('default', FileWatcherCertificateProvider.parseConfig({ ...istioAgentProviders()['default'].config, refresh_interval: '0.05s' }), { watchFileSystem: false });
    cleanups.push(() => provider.close());
    await provider.ready();
    const updated = nextUpdate(provider);
    await writeWorkloadCertificates({ dir, namespace: 'a', serviceAccount: 'b', ca: first.ca });
    const m = await updated;
    expect(m.certChain).not.toBe((await provider.ready()).certChain);
  });

  it('reports a missing file without material, and ready() rejects on close', async () => {
    const provider = new FileWatcherCertificateProvider('default', FileWatcherCertificateProvider.parseConfig({ ca_certificate_file: join(dir, 'nope.pem') }), { watchFileSystem: false });
    const error = new Promise<Error>((resolve) => provider.onError(resolve));
    expect((await error).message).toMatch(/ENOENT/);
    expect(provider.current()).toBeUndefined();
    provider.close();
    await expect(provider.ready()).rejects.toThrow(/closed before it had material/);
  });

  it('retries a failed first load soon (not at refresh_interval) and keeps the error for lastError()', async () => {
    // No directory watch and a 900 s interval: only the first-load retry can pick the files up.
    const provider = new FileWatcherCertificateProvider('default', FileWatcherCertificateProvider.parseConfig(istioAgentProviders()['default'].config), { watchFileSystem: false });
    cleanups.push(() => provider.close());
    const error = new Promise<Error>((resolve) => provider.onError(resolve));
    expect((await error).message).toMatch(/^certificate provider "default" \(file_watcher\): no material yet: ENOENT: no such file or directory, open '.*\.pem'$/);
    expect(provider.lastError()?.message).toMatch(/no material yet: ENOENT/);
    await writeWorkloadCertificates({ dir, namespace: 'a', serviceAccount: 'b' });
    // Retries back off from 100 ms to 2 s; 10 s is generous for a loaded machine.
    const material = await Promise.race([provider.ready(), new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('no first load within 10 s')), 10_000))]);
    expect(new X509Certificate(material.certChain!).subjectAltName).toContain('spiffe://cluster.local/ns/a/sa/b');
    expect(provider.lastError()).toBeUndefined();
  });

  it('validates the plugin config, defaulting refresh_interval to 600 s', () => {
    expect(FileWatcherCertificateProvider.parseConfig({ ca_certificate_file: '/x' }).refresh_interval).toBe(600_000);
    expect(() => FileWatcherCertificateProvider.parseConfig({ certificate_file: '/c' })).toThrow(/certificate_file and private_key_file must be set together/);
    expect(() => FileWatcherCertificateProvider.parseConfig({})).toThrow(/needs certificate_file/);
    expect(() => FileWatcherCertificateProvider.parseConfig({ ca_certificate_file: '/x', refresh_interval: '10m' })).toThrow(/refresh_interval: invalid duration "10m"/);
    expect(parseProtoJsonDuration('1.5s', 'd')).toBe(1500);
    expect(parseProtoJsonDuration({ seconds: 2, nanos: 5e8 }, 'd')).toBe(2500);
  });
});

describe('CertificateProviderRegistry.fromBootstrap', () => {
  it('rejects an unknown plugin, naming the instance and the plugin', () => {
    expect(() => CertificateProviderRegistry.fromBootstrap({ default: { plugin_name: 'meshca', config: {} } })).toThrow(
      'certificate_providers["default"]: unknown plugin_name "meshca" (supported: file_watcher)',
    );
  });

  it('rejects a bad file_watcher config at load, naming the field', () => {
    expect(() => CertificateProviderRegistry.fromBootstrap({ x: { plugin_name: 'file_watcher', config: { certificate_file: 3 } } })).toThrow(
      'certificate_providers["x"].config.certificate_file: must be a non-empty string',
    );
  });

  it('starts instances lazily and accepts extra plugins', async () => {
    let created = 0;
    const ca = DevCertificateAuthority.create();
    const registry = CertificateProviderRegistry.fromBootstrap(
      { unused: { plugin_name: 'file_watcher', config: { ca_certificate_file: '/does/not/exist' } }, dev: { plugin_name: 'dev_ca', config: { ns: 'n' } } },
      {
        plugins: [
          {
            name: 'dev_ca',
            parseConfig: (c) => c as { ns: string },
            create: (name, c: { ns: string }) => {
              created++;
              return new StaticCertificateProvider(name, DevCertificateAuthority.toMaterial(ca.issueWorkload({ namespace: c.ns, serviceAccount: 'sa' })));
            },
          },
        ],
      },
    );
    cleanups.push(() => registry.close());
    expect(registry.names()).toEqual(['unused', 'dev']);
    expect(created).toBe(0);
    const m = await registry.get('dev').ready();
    expect(new X509Certificate(m.certChain!).subjectAltName).toContain('spiffe://cluster.local/ns/n/sa/sa');
    expect(registry.get('dev')).toBe(registry.get('dev'));
    expect(created).toBe(1);
  });

  it('startAll() starts every instance before anyone asks for it', async () => {
    await writeWorkloadCertificates({ dir, namespace: 'a', serviceAccount: 'b' });
    const started: string[] = [];
    const registry = CertificateProviderRegistry.fromBootstrap(istioAgentProviders(), {
      plugins: [
        {
          name: 'file_watcher',
          parseConfig: (c, path) => FileWatcherCertificateProvider.parseConfig(c, path),
          create: (name, c: ReturnType<typeof FileWatcherCertificateProvider.parseConfig>) => (started.push(name), new FileWatcherCertificateProvider(name, c, { watchFileSystem: false })),
        },
      ],
    });
    cleanups.push(() => registry.close());
    expect(started).toEqual([]);
    registry.startAll();
    registry.startAll();
    expect(started).toEqual(['default']);
    const material = await registry.get('default').ready();
    expect(material.certChain).toContain('BEGIN CERTIFICATE');
    expect(started).toEqual(['default']);
  });
});
