/**
 * Fallback from a silent xDS server (an extension of gRFC A71, see AdsStream.fallBackFromSilentServer):
 * a server that accepts the ADS stream and answers nothing within the does-not-exist timer, while a
 * watched resource is not cached, is left for the next server in the bootstrap list; the client
 * goes back when it answers a probe stream. Real AdsServers on 127.0.0.1; `pause()` makes one hold
 * every response (it still accepts streams and reads requests). DNE timer 500 ms, probe every 50 ms.
 */
import { describe, expect, it } from 'vitest';
import { CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterResource } from '../src/resources/index.js';
import type { Cluster } from '../src/resources/model.js';
import { RecordingWatcher, settle } from './helpers/RecordingWatcher.js';
import { reliabilityRig } from './helpers/reliabilityRig.js';

const { cluster, figures, startServer, bootstrapFor, fast, newClient, record } = reliabilityRig();
const DNE_MS = fast.doesNotExistTimeoutMs!;

for (const delta of [false, true]) {
  const mode = delta ? 'delta' : 'sotw';
  describe(`silent xDS server fallback (${mode})`, () => {
    it('silent primary -> secondary after the DNE timer (no does-not-exist verdict); primary answers its probe -> back', async () => {
      const primary = await startServer();
      primary.server.pause();
      primary.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 1) }, { version: 'p1' });
      const secondary = await startServer();
      secondary.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 2) }, { version: 's1' });
      const primaryOpens = record<unknown>(primary.server, 'stream-open');
      const client = newClient({ bootstrap: bootstrapFor([primary.port, secondary.port]), delta });
      const connected: string[] = [];
      client.on('connected', (e) => void connected.push(e.server));
      const w = new RecordingWatcher<Cluster>();
      const t0 = Date.now();
      client.watch(ClusterResource, 'c1', w);

      const first = await w.nextOf('resource', 5000);
      const fellBackMs = Date.now() - t0;
      expect(first.resource.connect_timeout).toBe(2000); // the secondary's
      expect(fellBackMs).toBeGreaterThanOrEqual(DNE_MS - 50);
      // Silence is not absence: no does-not-exist verdict reached the watcher.
      expect(w.events.filter((e) => e.kind === 'does-not-exist')).toEqual([]);

      // While the primary stays silent, one probe stream waits on it (not one per 50 ms tick).
      await settle(500);
      const opensWhileSilent = primaryOpens.length;
      expect(opensWhileSilent).toBe(2);

      // The same primary process starts answering: the held response reaches the probe stream.
      primary.server.resume();
      expect((await w.nextOf('resource', 5000)).resource.connect_timeout).toBe(1000);
      await settle(200);
      expect(connected).toEqual([`127.0.0.1:${secondary.port}`, `127.0.0.1:${primary.port}`]);
      expect(secondary.server.streamCount).toBe(0);
      figures(`silent-primary/${mode}`, { dne_ms: DNE_MS, fell_back_after_ms: fellBackMs, primary_streams_while_silent: opensWhileSilent, primary_streams_in_all: primaryOpens.length, connected });
    });

    it('every server silent: the last one gets the normal does-not-exist verdict', async () => {
      const a = await startServer();
      const b = await startServer();
      a.server.pause();
      b.server.pause();
      const client = newClient({ bootstrap: bootstrapFor([a.port, b.port]), delta });
      const w = new RecordingWatcher<Cluster>();
      const t0 = Date.now();
      client.watch(ClusterResource, 'c1', w);
      await w.nextOf('does-not-exist', 5000);
      const verdictMs = Date.now() - t0;
      // One DNE period on each server: the fallback re-subscribed and the timer restarted there.
      expect(verdictMs).toBeGreaterThanOrEqual(2 * DNE_MS - 50);
      expect(b.server.streamCount).toBe(1);
      figures(`all-silent/${mode}`, { dne_ms: DNE_MS, verdict_after_ms: verdictMs });
    });

    it('a primary that has answered on this stream is not left for a name it does not send (conservative)', async () => {
      const primary = await startServer();
      primary.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 1) }, { version: 'p1' });
      const secondary = await startServer();
      const secondaryOpens = record<unknown>(secondary.server, 'stream-open');
      secondary.server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 2), c2: cluster('c2', 2) }, { version: 's1' });
      const client = newClient({ bootstrap: bootstrapFor([primary.port, secondary.port]), delta });
      const w1 = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c1', w1);
      await w1.nextOf('resource', 5000);
      primary.server.pause();
      const w2 = new RecordingWatcher<Cluster>();
      client.watch(ClusterResource, 'c2', w2);
      await w2.nextOf('does-not-exist', 5000);
      expect(secondaryOpens).toEqual([]);
      primary.server.resume();
    });
  });
}
