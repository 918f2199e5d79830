/**
 * Last known good on disk (opt-in): run 1 with a control plane writes the file; run 2 with
 * the control plane down serves requests from it (marked stale); run 3 with a changed
 * control plane replaces the cached config.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { XdsClient } from '@meshlet/xds-client';
import { createMeshDispatcher } from '@meshlet/http';
import { startBackend } from './helpers/backends.js';
import { FAST_XDS, bootstrapFor, figures, freePort, meshSnapshot, startAds, startLoad, waitFor } from './helpers/reliabilityMesh.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('reliability: last known good on disk', () => {
  it('run 1 writes the file; run 2 (control plane down) serves from it, stale; run 3 (changed server) replaces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshlet-lkg-'));
    const path = join(dir, 'xds-lkg.json');
    const [b0, b1] = await Promise.all([startBackend('from-run-1'), startBackend('from-run-3')]);
    cleanups.push(async () => {
      await Promise.all([b0.close(), b1.close()]);
      rmSync(dir, { recursive: true, force: true });
    });
    const lastKnownGood = { path, debounceMs: 50 };
    const run = async (port: number) => {
      const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([port]), lastKnownGood });
      const dispatcher = await createMeshDispatcher({ source: client, passthrough: 'reject' });
      return { client, dispatcher, async stop() { await dispatcher.close(); await client.close(); } };
    };

    // Run 1: control plane up.
    const ads = await startAds();
    ads.server.setSnapshot(meshSnapshot({ cluster: 'c0', ports: [b0.port] }), { version: 'run1' });
    const r1 = await run(ads.port);
    const load1 = startLoad(r1.dispatcher, 2);
    await waitFor(() => load1.figures.succeeded > 10, 5000, 'run 1 traffic');
    const f1 = await load1.stop();
    await r1.stop(); // flushes the pending write
    await ads.server.close();
    const file = JSON.parse(readFileSync(path, 'utf8')) as { format: string; resources: { type_url: string; name: string; version: string; any_value_base64: string }[] };
    expect(file.format).toBe('meshlet.xds.last-known-good.v1');
    expect(file.resources.map((r) => r.type_url.split('.').pop()).sort()).toEqual(['Cluster', 'ClusterLoadAssignment', 'Listener', 'RouteConfiguration']);
    expect(file.resources.every((r) => r.version === 'run1')).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).not.toMatch(/PRIVATE KEY|private_key/);

    // Run 2: nothing listens; the process comes up with its last config.
    const r2 = await run(await freePort());
    const load2 = startLoad(r2.dispatcher, 2);
    await waitFor(() => load2.figures.succeeded > 10, 5000, 'run 2 traffic from the file');
    const f2 = await load2.stop();
    const dump2 = r2.client.configDump().generic_xds_configs;
    await r2.stop();
    expect(f2.failed).toBe(0);
    expect(Object.keys(f2.byBody)).toEqual(['from-run-1']);
    expect(dump2.length).toBe(4);
    for (const x of dump2) {
      expect(x).toMatchObject({ client_status: 'ACKED', version_info: 'run1', stale: true });
      expect(x.error_state?.details).toMatch(/^stale: served from the last-known-good file/);
    }

    // Run 3: a control plane with a changed config replaces the cached one.
    const ads3 = await startAds();
    cleanups.push(() => ads3.server.close());
    ads3.server.setSnapshot(meshSnapshot({ cluster: 'c0', ports: [b1.port] }), { version: 'run3' });
    const r3 = await run(ads3.port);
    const load3 = startLoad(r3.dispatcher, 2);
    await waitFor(() => (load3.figures.byBody['from-run-3'] ?? 0) > 10, 5000, 'run 3 traffic on the fresh config');
    const f3 = await load3.stop();
    const dump3 = r3.client.configDump().generic_xds_configs;
    await r3.stop();
    expect(f3.failed).toBe(0);
    for (const x of dump3) {
      expect(x.stale).toBeUndefined();
      expect(x).toMatchObject({ client_status: 'ACKED', version_info: 'run3' });
    }
    const file3 = JSON.parse(readFileSync(path, 'utf8')) as typeof file;
    expect(file3.resources.every((r) => r.version === 'run3')).toBe(true);
    figures('last-known-good', {
      run1: { sent: f1.sent, succeeded: f1.succeeded, failed: f1.failed, resources_written: file.resources.length, file_bytes: statSync(path).size },
      run2_server_down: { sent: f2.sent, succeeded: f2.succeeded, failed: f2.failed, stale_resources: dump2.filter((x) => x.stale).length },
      run3_changed_server: { sent: f3.sent, succeeded: f3.succeeded, failed: f3.failed, by_backend: f3.byBody, stale_after: dump3.filter((x) => x.stale).length },
    });
  });
});
