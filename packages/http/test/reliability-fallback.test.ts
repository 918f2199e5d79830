/**
 * xDS server fallback (gRFC A71) with requests flowing: two xds_servers in the bootstrap.
 * Each test prints one `RELIABILITY {json}` line (copied into RELIABILITY.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { XdsClient } from '@meshlet/xds-client';
import { createMeshDispatcher } from '@meshlet/http';
import type { AdsServer } from '@meshlet/control-plane';
import { startBackend } from './helpers/backends.js';
import { FAST_XDS, bootstrapFor, figures, freePort, meshSnapshot, sleep, startAds, startLoad, waitFor } from './helpers/reliabilityMesh.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('reliability: xDS server fallback (gRFC A71)', () => {
  it('primary down at start -> secondary serves; primary back -> client returns; no request fails', async () => {
    const [b0, b1] = await Promise.all([startBackend('primary-config'), startBackend('secondary-config')]);
    const both = (active: 'p' | 's') => meshSnapshot({ cluster: active === 'p' ? 'cp' : 'cs', ports: [(active === 'p' ? b0 : b1).port], others: [{ name: active === 'p' ? 'cs' : 'cp', ports: [(active === 'p' ? b1 : b0).port] }] });
    const primaryPort = await freePort();
    const secondary = await startAds();
    secondary.server.setSnapshot(both('s'));
    let primary: { server: AdsServer; port: number } | undefined;
    const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([primaryPort, secondary.port]) });
    const connected: string[] = [];
    client.on('connected', (e) => void connected.push(e.server));
    const dispatcher = await createMeshDispatcher({ source: client, passthrough: 'reject' });
    cleanups.push(async () => {
      await dispatcher.destroy();
      await client.close();
      await primary?.server.close();
      await secondary.server.close();
      await Promise.all([b0.close(), b1.close()]);
    });
    const t0 = Date.now();
    const load = startLoad(dispatcher);
    await waitFor(() => load.figures.byBody['secondary-config'], 5000, 'traffic via the secondary');
    const onSecondaryMs = Date.now() - t0;
    await sleep(300);
    primary = await startAds(primaryPort);
    primary.server.setSnapshot(both('p'));
    const t1 = Date.now();
    await waitFor(() => (load.figures.byBody['primary-config'] ?? 0) > 20, 5000, 'traffic back on the primary config');
    const backMs = Date.now() - t1;
    await waitFor(() => secondary.server.streamCount === 0, 3000, 'secondary stream closed');
    const f = await load.stop();
    figures('fallback/primary-down-at-start', {
      sent: f.sent, succeeded: f.succeeded, failed: f.failed, by_config: f.byBody,
      first_response_via_secondary_ms: onSecondaryMs, returned_to_primary_ms: backMs, connected,
    });
    // Requests sent before any config arrived waited (resolveTimeout), none failed.
    expect(f.failed).toBe(0);
    expect(connected).toEqual([`127.0.0.1:${secondary.port}`, `127.0.0.1:${primaryPort}`]);
    expect(primary.server.streamCount).toBe(1);
  });

  it('primary restarts while everything is cached: the client stays with it and does not stampede the secondary', async () => {
    const b0 = await startBackend('primary-config');
    let primary = await startAds();
    primary.server.setSnapshot(meshSnapshot({ cluster: 'cp', ports: [b0.port] }));
    const secondary = await startAds();
    const secondaryOpens: unknown[] = [];
    secondary.server.events.on('stream-open', (e) => secondaryOpens.push(e));
    const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([primary.port, secondary.port]) });
    const dispatcher = await createMeshDispatcher({ source: client, passthrough: 'reject' });
    cleanups.push(async () => {
      await dispatcher.destroy();
      await client.close();
      await primary.server.close();
      await secondary.server.close();
      await b0.close();
    });
    const load = startLoad(dispatcher);
    await waitFor(() => load.figures.succeeded > 10, 5000, 'traffic');
    await primary.server.close();
    await sleep(800);
    primary = await startAds(primary.port);
    primary.server.setSnapshot(meshSnapshot({ cluster: 'cp', ports: [b0.port] }));
    await waitFor(() => primary.server.streamCount === 1, 5000, 'reconnected to the primary');
    const f = await load.stop();
    figures('fallback/primary-restart-all-cached', { sent: f.sent, succeeded: f.succeeded, failed: f.failed, secondary_streams_opened: secondaryOpens.length });
    expect(f.failed).toBe(0);
    // gRFC A71: fallback only while a watched resource is not cached.
    expect(secondaryOpens).toEqual([]);
  });
});
