// Where a footprint difference sits: runs the footprint scenario's child (bench/harness/footprint-child.mjs)
// for some variants, alternating, and prints the median resident memory of each by kind of mapping
// (residentByKind in bench/harness/residentMemory.mjs: V8 heap and its young generation, WebAssembly
// code, WebAssembly linear memory, malloc and compiler zones, the node binary's pages), then each
// variant minus the first, as the median of the per-round differences.
//
//   node bench/footprint-breakdown.mjs [rounds] [variant,variant,...]
//   default: 6 rounds of meshlet-static,meshlet-static-regexhit (what running the route regex adds)
//
// Variants are the child's: bare, meshlet-static, meshlet-static-noregex, meshlet-static-regexhit,
// meshlet-ads (an AdsServer in this process serves it). A round is one child per variant, about 3 s
// each; memory figures move by about 1 MB between runs, so read differences over 6 rounds or more.
// FOOTPRINT_CHILD_FLAGS adds node/V8 flags to every child (e.g. "--no-wasm-tier-up", to see what a
// compiler tier costs).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBackends } from './harness/backend.mjs';
import { realisticMesh, toObjectForm } from './harness/meshConfig.mjs';
import { loadControlPlane } from './harness/pkgs.mjs';
import { summarize } from './harness/stats.mjs';

const CHILD = fileURLToPath(new URL('./harness/footprint-child.mjs', import.meta.url));
const MB = 2 ** 20;
const rounds = Number(process.argv[2] ?? 6);
const variants = (process.argv[3] ?? 'meshlet-static,meshlet-static-regexhit').split(',');
const childFlags = (process.env.FOOTPRINT_CHILD_FLAGS ?? '').split(' ').filter(Boolean);

const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
const { ports } = backends;
let ads;
let adsPort = 0;
if (variants.includes('meshlet-ads')) {
  const cp = await loadControlPlane();
  ads = new cp.AdsServer();
  ({ port: adsPort } = await ads.listen(0, '127.0.0.1'));
  ads.setSnapshot(await toObjectForm(realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] })));
}

function sample(variant) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...childFlags, '--expose-gc', CHILD, variant, JSON.stringify(ports), String(adsPort)], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${variant}: ${err.message}\n${stderr}`));
      const s = JSON.parse(stdout.trim().split('\n').at(-1));
      if (s.resident === undefined) return reject(new Error('no /proc/self/smaps: Linux only'));
      resolve({ rss: s.rss, heapUsed: s.heapUsed, young: s.youngGeneration, ...s.resident });
    });
  });
}

const samples = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < rounds; r++) {
  // Rotate the order so no variant always runs first.
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + r) % variants.length];
    samples[v].push(await sample(v));
  }
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}
await ads?.close();
await backends.close();

const fields = ['rss', 'heapUsed', 'v8Heap', 'young', 'wasmCode', 'wasmMemory', 'mallocAndZones', 'nodeBinary', 'otherFiles'];
const row = (label, cells) => `${label.padEnd(34)}${cells.map((c) => (typeof c === 'number' ? c.toFixed(1) : c).padStart(10)).join('')}`;
console.log(`MB, median of ${rounds} rounds${childFlags.length ? `, children run with ${childFlags.join(' ')}` : ''} (load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')})`);
console.log(row('', fields.map((f) => f.slice(0, 9))));
for (const v of variants) console.log(row(v, fields.map((f) => summarize(samples[v].map((s) => s[f] / MB)).median)));
const [base, ...others] = variants;
for (const v of others) {
  const diffs = fields.map((f) => summarize(samples[v].map((s, i) => (s[f] - samples[base][i][f]) / MB)));
  console.log(row(`${v} - ${base}`.slice(0, 33), diffs.map((d) => d.median)));
  console.log(row('  min..max', diffs.map((d) => `${d.min.toFixed(1)}..${d.max.toFixed(1)}`)));
}
