/**
 * xDS server fallback (gRFC A71) with requests flowing: two xds_servers in the bootstrap.
 * Each test prints one `RELIABILITY {json}` line (copied into RELIABILITY.md).
 */
// @meshlet/http does not depend on grpc-js; the hung server uses the control plane's copy.
import * as grpc from '../../control-plane/node_modules/@grpc/grpc-js/build/src/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { XdsClient } from '@meshlet/xds-client';
import { createMeshDispatcher } from '@meshlet/http';
import { adsServiceDefinition, type AdsServer } from '@meshlet/control-plane';
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
    const both = (active: 'p' | 's') => bothClusters(active, b0.port, b1.port);
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

  it('primary hung (accepts the stream, never answers) -> secondary after the does-not-exist timer; primary healthy again -> client returns', async () => {
    const [b0, b1] = await Promise.all([startBackend('primary-config'), startBackend('secondary-config')]);
    const both = (active: 'p' | 's') => bothClusters(active, b0.port, b1.port);
    const hung = await startHungAdsServer();
    const secondary = await startAds();
    secondary.server.setSnapshot(both('s'));
    let primary: { server: AdsServer; port: number } | undefined;
    // FAST_XDS: does-not-exist timer 1500 ms (the silence bound), primary probe every 50 ms.
    const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([hung.port, secondary.port]) });
    const connected: string[] = [];
    client.on('connected', (e) => void connected.push(e.server));
    const disconnects: string[] = [];
    client.on('disconnected', (e) => void disconnects.push(e.error.message));
    const dispatcher = await createMeshDispatcher({ source: client, passthrough: 'reject' });
    cleanups.push(async () => {
      await dispatcher.destroy();
      await client.close();
      await primary?.server.close();
      hung.close();
      await secondary.server.close();
      await Promise.all([b0.close(), b1.close()]);
    });
    const t0 = Date.now();
    const load = startLoad(dispatcher);
    await waitFor(() => load.figures.byBody['secondary-config'], 8000, 'traffic via the secondary');
    const onSecondaryMs = Date.now() - t0;
    // On the secondary, the silent primary is probed with one ADS stream that stays open (not one per 50 ms tick).
    await sleep(1000);
    const hungStreams = hung.streams();
    const hungRequests = hung.requests();
    // The primary is restarted healthy on the same port (a hung process replaced).
    hung.close();
    primary = await startAds(hung.port);
    primary.server.setSnapshot(both('p'));
    const t1 = Date.now();
    await waitFor(() => (load.figures.byBody['primary-config'] ?? 0) > 20, 8000, 'traffic back on the primary config');
    const backMs = Date.now() - t1;
    await waitFor(() => secondary.server.streamCount === 0, 5000, 'secondary stream closed');
    const f = await load.stop();
    figures('fallback/primary-hung', {
      sent: f.sent, succeeded: f.succeeded, failed: f.failed, failures: f.failures, by_config: f.byBody,
      does_not_exist_timer_ms: FAST_XDS.doesNotExistTimeoutMs, first_response_via_secondary_ms: onSecondaryMs,
      streams_opened_on_hung_primary: hungStreams, requests_it_received: hungRequests,
      returned_to_primary_ms: backMs, connected, first_disconnect: disconnects[0],
    });
    // Requests waited for config (resolve timeout 5 s > the 1.5 s silence bound): none failed.
    expect(f.failed).toBe(0);
    expect(onSecondaryMs).toBeGreaterThanOrEqual(FAST_XDS.doesNotExistTimeoutMs! - 100);
    expect(disconnects[0]).toMatch(/no response within the does-not-exist timer; falling back to 127\.0\.0\.1:/);
    // The original stream and a single probe stream, however many probe ticks passed.
    expect(hungStreams).toBe(2);
    expect(connected).toEqual([`127.0.0.1:${secondary.port}`, `127.0.0.1:${hung.port}`]);
    expect(primary.server.streamCount).toBe(1);
  });
});

/** Both clusters (as istiod serves every cluster), the route on the primary's ('p') or the secondary's ('s'). */
function bothClusters(active: 'p' | 's', primaryBackend: number, secondaryBackend: number) {
  const [mine, other] = active === 'p' ? [primaryBackend, secondaryBackend] : [secondaryBackend, primaryBackend];
  return meshSnapshot({ cluster: active === 'p' ? 'cp' : 'cs', ports: [mine], others: [{ name: active === 'p' ? 'cs' : 'cp', ports: [other] }] });
}

/** A grpc-js server with the ADS service whose handlers accept every stream, read it, and never write. */
async function startHungAdsServer(): Promise<{ port: number; streams(): number; requests(): number; close(): void }> {
  const server = new grpc.Server();
  let streams = 0;
  let requests = 0;
  const hold = (call: grpc.ServerDuplexStream<unknown, unknown>): void => {
    streams++;
    call.on('data', () => void requests++);
    call.on('error', () => undefined);
  };
  server.addService(adsServiceDefinition() as unknown as grpc.ServiceDefinition, { StreamAggregatedResources: hold, DeltaAggregatedResources: hold });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let closed = false;
  return {
    port,
    streams: () => streams,
    requests: () => requests,
    close: () => {
      if (closed) return;
      closed = true;
      server.forceShutdown();
    },
  };
}
