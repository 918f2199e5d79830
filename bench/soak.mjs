// Soak (not a CI test): steady HTTP load through a MeshDispatcher for a long time while the control
// plane pushes a config change every second, sampling memory and handles to show they stay flat.
//
//   pnpm build && node --expose-gc bench/soak.mjs                 # 30 minutes (the default)
//   node --expose-gc bench/soak.mjs --minutes 1                   # a quick run
//   node --expose-gc bench/soak.mjs --minutes 2 --concurrency 16 --sample-seconds 10
//
// Set-up: an AdsServer in this process on 127.0.0.1 serves istiod-shaped config (listener, RDS,
// two EDS clusters v1 / v2 with outlier detection and breakers, a retry policy) to a dispatcher
// built from a gRPC xDS bootstrap (a real XdsClient over ADS). Backends run in a child process
// (bench/harness/backend-child.mjs), four ports: v1a, v1b, v2a, v2b. Every second one push:
// odd pushes flip the default route's weights (90/10 <-> 10/90, an RDS push), even pushes add or
// remove the v1b endpoint (an EDS push). Closed-loop load (--concurrency requests in flight).
// Every --sample-seconds: heap used after global.gc() (twice), RSS, and
// process.getActiveResourcesInfo().length (open handles and requests). Prints a table and writes
// bench/results/soak-<minutes>m-<timestamp>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startBackends } from './harness/backend.mjs';
import { DEFAULT_PATH, realisticMesh, ROUTE_NAME, TARGET, toObjectForm, V1 } from './harness/meshConfig.mjs';
import { loadControlPlane, loadHttp, loadXdsClient } from './harness/pkgs.mjs';
import { RESULTS_DIR } from './harness/scenario.mjs';

function arg(name, fallback) {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const v = argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got ${v}`);
  return n;
}

const minutes = arg('minutes', 30);
const concurrency = arg('concurrency', 8);
const sampleSeconds = arg('sample-seconds', 10);
const pushEveryMs = arg('push-ms', 1000);

if (typeof globalThis.gc !== 'function') {
  console.error('soak: run with --expose-gc (node --expose-gc bench/soak.mjs) so heap figures are after a full GC');
  process.exit(2);
}

async function gcHeap() {
  // Two full collections with a turn of the event loop between them (finalizers, weak refs).
  globalThis.gc();
  await sleep(20);
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
const { ports } = backends;
const cp = await loadControlPlane();
const x = await loadXdsClient();
const { createMeshDispatcher } = await loadHttp();

/** The mesh for push number n: weights flip on odd n, v1b comes and goes on even n. */
async function meshFor(n) {
  const flip = Math.floor((n + 1) / 2) % 2 === 1;
  const withV1b = Math.floor(n / 2) % 2 === 0;
  return toObjectForm(
    realisticMesh({
      v1Ports: withV1b ? [ports.v1a, ports.v1b] : [ports.v1a],
      v2Ports: [ports.v2a, ports.v2b],
      weights: flip ? [10, 90] : [90, 10],
    }),
  );
}

const ads = new cp.AdsServer();
const { port } = await ads.listen(0, '127.0.0.1');
ads.setSnapshot(await meshFor(0));
const dispatcher = await createMeshDispatcher({
  bootstrap: {
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~soak.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' } },
  },
});

const url = `http://${TARGET}${DEFAULT_PATH}`;
const totals = { sent: 0, ok: 0, failed: 0, failures: {}, byBackend: {}, pushes: 0 };
let window = { sent: 0, ok: 0, failed: 0 };
let running = true;
const workers = Array.from({ length: concurrency }, async () => {
  while (running) {
    totals.sent++;
    window.sent++;
    try {
      const r = await request(url, { dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = await r.body.text();
      if (r.statusCode === 200) {
        totals.ok++;
        window.ok++;
        totals.byBackend[body] = (totals.byBackend[body] ?? 0) + 1;
      } else {
        totals.failed++;
        window.failed++;
        const k = `${r.statusCode} ${r.headers['x-meshlet-response-flags'] ?? ''}`.trim();
        totals.failures[k] = (totals.failures[k] ?? 0) + 1;
      }
    } catch (error) {
      totals.failed++;
      window.failed++;
      const k = String(error?.message ?? error).slice(0, 100);
      totals.failures[k] = (totals.failures[k] ?? 0) + 1;
    }
  }
});

// One push a second: RDS (weights) and EDS (endpoint added / removed) alternately.
let pushN = 0;
let pushing = Promise.resolve();
const pushTimer = setInterval(() => {
  pushing = pushing.then(async () => {
    pushN++;
    const mesh = await meshFor(pushN);
    if (pushN % 2 === 1) ads.setResources(x.ROUTE_CONFIGURATION_TYPE_URL, { [ROUTE_NAME]: mesh.routes[0] });
    else ads.setResources(x.CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { [V1]: mesh.endpoints.find((e) => e.cluster_name === V1) });
    totals.pushes++;
  });
}, pushEveryMs);

const samples = [];
const started = performance.now();
async function sample() {
  const heap = await gcHeap();
  const resources = process.getActiveResourcesInfo();
  const byKind = {};
  for (const r of resources) byKind[r] = (byKind[r] ?? 0) + 1;
  const s = {
    t: Math.round((performance.now() - started) / 1000),
    heapAfterGcBytes: heap,
    rssBytes: process.memoryUsage().rss,
    activeResources: resources.length,
    activeByKind: byKind,
    requests: window.sent,
    failed: window.failed,
    pushes: totals.pushes,
  };
  window = { sent: 0, ok: 0, failed: 0 };
  samples.push(s);
  const mib = (b) => (b / 1048576).toFixed(1).padStart(7);
  console.log(
    `${String(s.t).padStart(6)} s  heap ${mib(s.heapAfterGcBytes)} MiB  rss ${mib(s.rssBytes)} MiB  handles ${String(s.activeResources).padStart(4)}  ` +
      `requests ${String(s.requests).padStart(7)}  failed ${String(s.failed).padStart(4)}  pushes ${String(s.pushes).padStart(5)}`,
  );
}

console.log(`soak: ${minutes} min, ${concurrency} in flight, a push every ${pushEveryMs} ms, a sample every ${sampleSeconds} s (node ${process.version})`);
await sleep(1000); // first config and connection warm-up
await sample();
const endAt = started + minutes * 60_000;
while (performance.now() < endAt) {
  await sleep(Math.min(sampleSeconds * 1000, Math.max(0, endAt - performance.now())));
  await sample();
}

running = false;
clearInterval(pushTimer);
await pushing;
await Promise.all(workers);
await dispatcher.close();
await ads.close();
await backends.close();

// Flatness: compare the first third of samples (after warm-up) with the last third.
const third = Math.max(1, Math.floor(samples.length / 3));
const steady = samples.slice(1); // sample 0 is taken right after warm-up
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const firstHeap = median(steady.slice(0, third).map((s) => s.heapAfterGcBytes));
const lastHeap = median(steady.slice(-third).map((s) => s.heapAfterGcBytes));
const summary = {
  minutes,
  concurrency,
  pushEveryMs,
  sampleSeconds,
  node: process.version,
  requests: totals.sent,
  succeeded: totals.ok,
  failed: totals.failed,
  failures: totals.failures,
  byBackend: totals.byBackend,
  pushes: totals.pushes,
  heapAfterGc: { first: samples[0].heapAfterGcBytes, last: samples.at(-1).heapAfterGcBytes, min: Math.min(...samples.map((s) => s.heapAfterGcBytes)), max: Math.max(...samples.map((s) => s.heapAfterGcBytes)), firstThirdMedian: firstHeap, lastThirdMedian: lastHeap },
  rss: { first: samples[0].rssBytes, last: samples.at(-1).rssBytes, max: Math.max(...samples.map((s) => s.rssBytes)) },
  activeResources: { first: samples[0].activeResources, last: samples.at(-1).activeResources, min: Math.min(...samples.map((s) => s.activeResources)), max: Math.max(...samples.map((s) => s.activeResources)) },
  samples,
};
mkdirSync(RESULTS_DIR, { recursive: true });
const file = `${RESULTS_DIR}soak-${minutes}m-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
const { samples: _s, ...printed } = summary;
console.log(`\nsoak summary: ${JSON.stringify(printed)}\nwritten to ${file}`);
process.exitCode = 0;
