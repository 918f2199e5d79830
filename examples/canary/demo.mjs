// The canary demo (the README's main job), on the embedded default: mesh.yaml is
// translated in-process, no control plane runs. It shows, live:
//   1. a 95/5 split between reviews v1 and v2;
//   2. the split following a weight change written to mesh.yaml (50/50);
//   3. one of the two v2 pods failing: retries (to another host, previous_hosts) mask
//      its 503s and outlier detection ejects it.
// Weighted clusters are picked once per request, as in Envoy, so retries stay in the
// chosen subset: a failure is masked when another pod of the same version is healthy.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMeshDispatcher } from '@meshlet/http';
import { request } from 'undici';

const PHASE_MS = Number(process.env.MESHLET_DEMO_PHASE_MS ?? 4000);
const CONCURRENCY = 8;
const here = import.meta.dirname;

// A tiny reviews service on loopback: one v1 pod, two v2 pods.
const failing = new Set();
const upstream503s = { count: 0 };
async function startVersion(version, pod) {
  const server = createServer((req, res) => {
    if (failing.has(pod)) {
      upstream503s.count++;
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`${version} is down\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { server, port: server.address().port };
}
const v1 = await startVersion('v1', 'v1');
const v2a = await startVersion('v2', 'v2a');
const v2b = await startVersion('v2', 'v2b');

// mesh.yaml names placeholder ports; point them at the servers we just started.
const dir = mkdtempSync(join(tmpdir(), 'meshlet-demo-'));
const meshPath = join(dir, 'mesh.yaml');
const template = readFileSync(join(here, 'mesh.yaml'), 'utf8')
  .replaceAll('19081', String(v1.port))
  .replaceAll('19082', String(v2a.port))
  .replaceAll('19083', String(v2b.port));
writeFileSync(meshPath, template);

const dispatcher = await createMeshDispatcher({ meshConfig: meshPath });

// A steady stream of requests through the mesh, counted per version.
const counts = { v1: 0, v2: 0, failed: 0 };
let running = true;
async function client() {
  while (running) {
    try {
      const res = await request('http://reviews.demo.local:9080/reviews/1', { dispatcher });
      if (res.statusCode === 200) counts[(await res.body.json()).version]++;
      else {
        await res.body.dump();
        counts.failed++;
      }
    } catch {
      counts.failed++;
    }
  }
}
const clients = Array.from({ length: CONCURRENCY }, client);

function bar(share) {
  const n = Math.round(share * 40);
  return '#'.repeat(n) + '.'.repeat(40 - n);
}

async function phase(title, ms) {
  console.log(`\n== ${title}`);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    counts.v1 = counts.v2 = counts.failed = upstream503s.count = 0;
    await sleep(500);
    const total = counts.v1 + counts.v2 + counts.failed || 1;
    const line =
      `v1 ${(100 * counts.v1 / total).toFixed(1).padStart(5)}% ${bar(counts.v1 / total)}  v2 ${(100 * counts.v2 / total).toFixed(1).padStart(5)}%` +
      `  failed ${counts.failed}  upstream 503s retried ${upstream503s.count}  (${total} req/0.5s)`;
    console.log(line);
  }
}

await phase('95/5 canary: mesh.yaml routes 95% to v1, 5% to v2', PHASE_MS);

writeFileSync(meshPath, template.replace(/weight: 95/, 'weight: 50').replace(/weight: 5\b/, 'weight: 50'));
await phase('weights shifted to 50/50 by rewriting mesh.yaml (reloaded in-process)', PHASE_MS);

// Watch outlier detection on the v2 subset's cluster, named as istiod names it.
const state = dispatcher.mesh.state('reviews.demo.local:9080');
const v2cluster = state.kind === 'ready' ? state.snapshot.cluster('outbound|9080|v2|reviews.demo.local') : undefined;
const ejections = v2cluster?.outlier?.onEject(({ host, reason }) => console.log(`   outlier detection ejected ${host.key} (${reason})`));
failing.add('v2a');
await phase(`v2 pod 127.0.0.1:${v2a.port} now answers 503: retries mask it, outlier detection ejects it`, PHASE_MS);
ejections?.dispose();

running = false;
await Promise.all(clients);
await dispatcher.close();
for (const s of [v1, v2a, v2b]) s.server.close();
rmSync(dir, { recursive: true, force: true });
console.log('\ndone: the split followed mesh.yaml; the failing v2 pod was retried around, then ejected.');
