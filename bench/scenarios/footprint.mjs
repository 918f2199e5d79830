// Scenario 4: memory footprint. A child process sends 2,000 requests (16 in flight) to a
// loopback backend with bare undici, or with Meshlet and the realistic config of scenario 1:
// from a StaticResourceSource (the embedded mesh.yaml mode) or over ADS from an AdsServer
// in this (parent) process. After 3x global.gc() the child reports process.memoryUsage().
// Footprint = Meshlet child minus bare child, per round; the variants' order rotates.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBackends } from '../harness/backend.mjs';
import { realisticMesh, toObjectForm } from '../harness/meshConfig.mjs';
import { loadControlPlane } from '../harness/pkgs.mjs';
import { main, metric } from '../harness/scenario.mjs';
import { summarize } from '../harness/stats.mjs';

const CHILD = fileURLToPath(new URL('../harness/footprint-child.mjs', import.meta.url));
const MB = 2 ** 20;

function sample(variant, ports, adsPort) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', CHILD, variant, JSON.stringify(ports), String(adsPort)], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${variant}: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)));
    });
  });
}

export const scenario = {
  name: 'footprint',
  title: 'Footprint: RSS and heap of a process using Meshlet minus the same process without it',
  async run({ full, log }) {
    const rounds = full ? 7 : 3;
    const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
    const { ports } = backends;
    const cp = await loadControlPlane();
    const ads = new cp.AdsServer();
    const { port: adsPort } = await ads.listen(0, '127.0.0.1');
    ads.setSnapshot(await toObjectForm(realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] })));

    const variants = ['bare', 'meshlet-static', 'meshlet-ads'];
    const samples = [];
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]);
      const round = {};
      for (const v of order) {
        round[v] = await sample(v, ports, adsPort);
        if (round[v].failures) throw new Error(`${v}: ${round[v].failures} failed requests`);
      }
      samples.push(round);
      log(`  round ${r + 1}: rss bare ${(round.bare.rss / MB).toFixed(1)} MB, static ${(round['meshlet-static'].rss / MB).toFixed(1)} MB, ads ${(round['meshlet-ads'].rss / MB).toFixed(1)} MB`);
    }
    await ads.close();
    await backends.close();

    const diff = (v, field) => summarize(samples.map((s) => (s[v][field] - s.bare[field]) / MB));
    const metrics = [
      metric('bare undici: rss', 'MB', summarize(samples.map((s) => s.bare.rss / MB))),
      metric('bare undici: heapUsed', 'MB', summarize(samples.map((s) => s.bare.heapUsed / MB))),
      metric('meshlet (static config) - bare: rss', 'MB', diff('meshlet-static', 'rss'), { op: '<=', value: 15 }),
      metric('meshlet (static config) - bare: heapUsed', 'MB', diff('meshlet-static', 'heapUsed')),
      metric('meshlet (ADS, XdsClient) - bare: rss', 'MB', diff('meshlet-ads', 'rss'), { op: '<=', value: 15 }),
      metric('meshlet (ADS, XdsClient) - bare: heapUsed', 'MB', diff('meshlet-ads', 'heapUsed')),
      metric('meshlet (ADS, XdsClient) - bare: external', 'MB', diff('meshlet-ads', 'external')),
    ];
    return {
      params: { rounds, requestsPerSample: 2000, inFlight: 16 },
      metrics,
      notes: ['each sample is a fresh child process (node --expose-gc); memory read after 3x global.gc(). The ADS variant talks to an AdsServer in the parent process.'],
      raw: samples,
    };
  },
};

await main(import.meta.url, scenario);
