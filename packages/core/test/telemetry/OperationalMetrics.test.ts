import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS, ROUTE_CONFIGURATION_TYPE_URL as RDS, XdsClient } from '@meshlet/xds-client';
import { CertificateProviderRegistry, DevCertificateAuthority, StaticCertificateProvider, writeWorkloadCertificates } from '../../src/identity/index.js';
import { Mesh } from '../../src/mesh/Mesh.js';
import { bindCertificateMetrics } from '../../src/telemetry/CertificateMetrics.js';
import { bindXdsClientMetrics } from '../../src/telemetry/XdsClientMetrics.js';
import { collectPoints, meterWithReader } from '../../../http/test/helpers/otel.js';
import { FAST_XDS, TARGET, bootstrapFor, meshSnapshot, startAds } from '../../../http/test/helpers/reliabilityMesh.js';

/**
 * The gauges an operator alerts on before traffic suffers, read through a real sdk-metrics
 * reader: xDS config age per type over a real ADS stream, and the workload certificate's time
 * to expiry from real certificate providers (istio-agent's files through file_watcher).
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function metered(): ReturnType<typeof meterWithReader> {
  const m = meterWithReader();
  cleanups.push(() => m.meterProvider.shutdown());
  return m;
}

/** One gauge's values keyed by one label. */
async function gauge(reader: ReturnType<typeof meterWithReader>['reader'], name: string, label: string): Promise<Record<string, number>> {
  return Object.fromEntries((await collectPoints(reader, name)).map((p) => [String(p.attributes[label]), p.value]));
}

/** Polls (bounded, generous for a loaded machine) until `check` holds. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const XDS_TYPES = [LDS, RDS, CDS, EDS].sort();
const AGE = 'meshlet_xds_config_age_seconds';
const EXPIRY = 'meshlet_certificate_expiry_seconds';

describe('meshlet_xds_config_age_seconds over a real ADS stream', () => {
  it('is per type_url, counts from each type’s last ACK, returns to ~0 when the type is updated, and starts from the config dump when bound late', async () => {
    const ads = await startAds();
    cleanups.push(() => ads.server.close());
    ads.server.setSnapshot(meshSnapshot({ cluster: 'c0', ports: [10001] }), { version: 'v1' });
    const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([ads.port]) });
    cleanups.push(() => client.close());
    // A clock the test moves forward, so ages are known whatever the machine's load.
    let skewMs = 0;
    const { meterProvider, reader } = metered();
    const binding = bindXdsClientMetrics(client, { meterProvider, now: () => Date.now() + skewMs });
    cleanups.push(() => binding.dispose());
    const mesh = await Mesh.create({ source: client, resolveTimeoutMs: 10_000 });
    cleanups.push(() => mesh.close());
    expect((await mesh.resolve(TARGET)).kind).toBe('ready');

    // EDS may be ACKed a round trip after the target resolves.
    await until(async () => Object.keys(await gauge(reader, AGE, 'type_url')).length === 4, 'four xDS types ACKed');
    const fresh = await gauge(reader, AGE, 'type_url');
    expect(Object.keys(fresh).sort()).toEqual(XDS_TYPES);
    // Tolerance: the ACKs came moments ago; a loaded machine may take seconds, never a minute.
    for (const v of Object.values(fresh)) expect(v).toBeLessThan(60);

    skewMs = 600_000;
    const later = await gauge(reader, AGE, 'type_url');
    for (const t of XDS_TYPES) expect(later[t]! - fresh[t]!).toBeGreaterThanOrEqual(600);
    for (const t of XDS_TYPES) expect(later[t]!).toBeLessThan(660);

    // New endpoints are pushed and ACKed: EDS is fresh again. The listener did not change; whether the
    // server re-sent it or not, its age can only have stayed or been reset.
    ads.server.setSnapshot(meshSnapshot({ cluster: 'c0', ports: [10002] }), { version: 'v2' });
    await until(async () => (await gauge(reader, AGE, 'type_url'))[EDS]! < 60, 'EDS age reset by the v2 push');
    expect((await gauge(reader, AGE, 'type_url'))[LDS]).toBeLessThan(660);

    // A binder added after the config arrived starts from the client's config dump (last_updated).
    const late = metered();
    const lateBinding = bindXdsClientMetrics(client, { meterProvider: late.meterProvider });
    cleanups.push(() => lateBinding.dispose());
    const seeded = await gauge(late.reader, AGE, 'type_url');
    expect(Object.keys(seeded).sort()).toEqual(XDS_TYPES);
    for (const v of Object.values(seeded)) expect(v).toBeLessThan(60);
  });
});

describe('meshlet_certificate_expiry_seconds from the certificate providers', () => {
  it('file_watcher (istio-agent files): reported once the instance has started, as seconds to the leaf notAfter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshlet-certmetrics-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const written = await writeWorkloadCertificates({ dir, namespace: 'default', serviceAccount: 'productpage', validityMs: 6 * 3600_000 });
    const registry = CertificateProviderRegistry.fromBootstrap({
      default: {
        plugin_name: 'file_watcher',
        config: { certificate_file: written.files.certificateFile, private_key_file: written.files.privateKeyFile, ca_certificate_file: written.files.caCertificateFile },
      },
      roots: { plugin_name: 'file_watcher', config: { ca_certificate_file: written.files.caCertificateFile } },
    });
    cleanups.push(() => registry.close());
    const { meterProvider, reader } = metered();
    const now = Date.now();
    const binding = bindCertificateMetrics(registry, { meterProvider, now: () => now });
    cleanups.push(() => binding.dispose());

    // Reading the gauge starts no instance.
    expect(await collectPoints(reader, EXPIRY)).toEqual([]);
    expect([...registry.started()]).toEqual([]);

    await registry.get('default').ready();
    await registry.get('roots').ready();
    // The trust-only instance has no workload certificate: only `default` is reported.
    expect(await gauge(reader, EXPIRY, 'provider')).toEqual({ default: (written.notAfter.getTime() - now) / 1000 });
  });

  it('follows rotation, and goes negative once the certificate has expired', async () => {
    const ca = DevCertificateAuthority.create();
    const first = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews', validityMs: 3600_000 });
    const provider = new StaticCertificateProvider('workload', first);
    const registry = CertificateProviderRegistry.of({ workload: provider });
    cleanups.push(() => registry.close());
    const { meterProvider, reader } = metered();
    let now = Date.now();
    cleanups.push(bindCertificateMetrics(registry, { meterProvider, now: () => now }).dispose);
    expect(await gauge(reader, EXPIRY, 'provider')).toEqual({ workload: (first.notAfter.getTime() - now) / 1000 });

    const rotated = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews', validityMs: 24 * 3600_000 });
    provider.update(rotated);
    expect(await gauge(reader, EXPIRY, 'provider')).toEqual({ workload: (rotated.notAfter.getTime() - now) / 1000 });

    now = rotated.notAfter.getTime() + 90_000;
    expect(await gauge(reader, EXPIRY, 'provider')).toEqual({ workload: -90 });
  });
});
