// Scenario 3: push to effect. An AdsServer (in this process, on 127.0.0.1) serves the
// realistic config to a Meshlet dispatcher built from a gRPC xDS bootstrap (XdsClient, ADS
// SotW). 8 requests stay in flight. The control plane flips the default route's weighted
// clusters between 100/0 and 0/100 (v1/v2); the effect time of a push is from the
// setResources call to the start of the first request that lands on the newly weighted
// subset (every later-started request must land there too: stragglers are counted).
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackends } from '../harness/backend.mjs';
import { DEFAULT_PATH, realisticMesh, ROUTE_NAME, TARGET, toObjectForm } from '../harness/meshConfig.mjs';
import { loadControlPlane, loadHttp, loadXdsClient } from '../harness/pkgs.mjs';
import { main, metric } from '../harness/scenario.mjs';
import { summarize } from '../harness/stats.mjs';

export const scenario = {
  name: 'push-to-effect',
  title: 'Push to effect: control plane changes a weight, time until requests follow it',
  async run({ full, log }) {
    const pushes = full ? 100 : 20;
    const backends = await startBackends(['v1', 'v2']);
    const { ports } = backends;
    const cp = await loadControlPlane();
    const x = await loadXdsClient();
    const ads = new cp.AdsServer();
    const { port } = await ads.listen(0, '127.0.0.1');
    const meshFor = (w) => toObjectForm(realisticMesh({ v1Ports: [ports.v1], v2Ports: [ports.v2], weights: w }));
    ads.setSnapshot(await meshFor([100, 0]));
    // Pre-build both route configurations so a push is only the control plane's own work.
    const routesFor = { v1: (await meshFor([100, 0])).routes[0], v2: (await meshFor([0, 100])).routes[0] };
    const { createMeshDispatcher } = await loadHttp();
    const dispatcher = await createMeshDispatcher({
      bootstrap: {
        xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'sidecar~127.0.0.1~bench.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' } },
      },
    });
    const url = `http://${TARGET}${DEFAULT_PATH}`;
    let log_ = [];
    let running = true;
    let failures = 0;
    const workers = Array.from({ length: 8 }, async () => {
      while (running) {
        const start = performance.now();
        try {
          const r = await request(url, { dispatcher });
          const label = await r.body.text();
          if (r.statusCode === 200) log_.push({ start, label });
          else failures++;
        } catch {
          failures++;
        }
      }
    });
    // Wait for the first config and warm up.
    await sleep(500);
    const effects = [];
    let stragglers = 0;
    let current = 'v1';
    for (let i = 0; i < pushes; i++) {
      const next = current === 'v1' ? 'v2' : 'v1';
      log_ = [];
      const tPush = performance.now();
      ads.setResources(x.ROUTE_CONFIGURATION_TYPE_URL, { [ROUTE_NAME]: routesFor[next] });
      // Bounded wait: until 50 requests after the switch landed on `next`, at most 2 s.
      const deadline = tPush + 2000;
      let first;
      while (performance.now() < deadline) {
        await sleep(2);
        const idx = log_.findIndex((e) => e.label === next);
        if (idx >= 0 && log_.length - idx > 50) {
          first = log_[idx];
          break;
        }
      }
      if (!first) throw new Error(`push ${i}: requests did not follow the new weights within 2 s`);
      const firstStart = Math.min(...log_.filter((e) => e.label === next).map((e) => e.start));
      stragglers += log_.filter((e) => e.start > firstStart && e.label !== next).length;
      effects.push(Math.max(0, firstStart - tPush));
      current = next;
      await sleep(50 + Math.random() * 50);
    }
    running = false;
    await Promise.all(workers);
    await dispatcher.close();
    await ads.close();
    await backends.close();
    const s = summarize(effects);
    const sorted = [...effects].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)];
    log(`  effect ms: ${sorted.map((v) => v.toFixed(1)).join(' ')}`);
    return {
      params: { pushes, inFlight: 8 },
      metrics: [
        metric('push to effect: p50', 'ms', s),
        metric('push to effect: p99', 'ms', p99, { op: '<=', value: 50 }, `nearest-rank p99 of ${pushes} pushes`),
        metric('push to effect: max', 'ms', s.max),
        metric('requests on the old subset after the first on the new', 'count', stragglers, { op: '<=', value: 0 }),
        metric('failed requests', 'count', failures),
      ],
      notes: ['the control plane runs in the bench process (its encoding and send are on the same event loop as the client); the push is a SotW RouteConfiguration update.'],
      raw: { effects },
    };
  },
};

await main(import.meta.url, scenario);
