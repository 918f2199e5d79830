// Tool: the client's instructions per call, counted by valgrind's callgrind, for each side of the gRPC
// or the HTTP overhead scenario at 1 call in flight. Wall-clock ratios on this VM swing by ±0.05 and
// more between runs; an instruction count does not depend on what else the machine runs, so it can
// tell a change of a few hundred nanoseconds of the mesh's own work apart, and compare two builds.
//   node bench/instructions.mjs grpc [--sides=plain,meshlet,xds] [--calls=N] [--warm=N] [--repeat=N] [--istio-retry] [--tree=DIR] [--jobs=2] [--sim] [--inline] [--json]
//   node bench/instructions.mjs http [--sides=bare,meshlet] ...
// Each side's counts are also printed outside GC (harness/callgrindGcShare.mjs): the one scavenge among the counted
// calls moves a run's total by up to 6%, outside GC runs of one build agree within about 0.5%; compare builds
// there. --keep=DIR keeps the callgrind output files (with --node-flags="... --perf-basic-prof" for JIT names).
// Needs valgrind, a C compiler, and valgrind's and Node's headers (valgrind/callgrind.h, node_api.h).
// How: the backends (and, for grpc-js-xds, an AdsServer) run in this process and a child, outside
// valgrind. Each side's client runs in its own `valgrind --tool=callgrind --instr-atstart=no node`
// process (bench/harness/instructions-child.mjs): `warm` calls uninstrumented (valgrind runs them
// about 5 times slower than native, counted code about 100 times), then `calls` counted between two
// client requests (bench/harness/callgrind-toggle.c, built here into a scratch folder). Every thread
// of the client process counts while instrumentation is on (V8's compiler and GC threads too); the
// kernel's work (syscalls, loopback) does not, nor does the server's.
// The warm-up must outlast V8's tiering. With 300 warm calls TurboFan's own work was half of a gRPC
// count. With 5,000 (this tool's first default), TurboFan's work and deoptimizations were still 30k to
// 60k instructions per counted Meshlet call (callgrind_annotate: compiler:: and Translated* functions; node's
// --trace-opt shows about 15 optimizations and 4 deopts in the next 5,000 calls), more for Meshlet (more code
// on its call path) than for plain grpc-js, and whether late compiles fell in the window made the counts'
// two modes. With 20,000 (the default) plain grpc-js counted 400,157 / 408,828 and Meshlet 413,021 / 417,515,
// against 414,931 to 418,983 and 465,209 to 466,713 with 5,000 warm. A long-running service pays the
// compiles once; a few seconds of a benchmark round do not get past them.
// What it shows: the client's user-space work per call, its scavenges included. The child holds the
// young generation at 16 MB (its usual steady-state size) and runs a scavenge just before counting, so
// the scavenges among the counted calls follow from what they allocate (a gRPC call on real sockets
// allocates about 37 KB: one scavenge per 500 calls); the output gives the GCs in each run. Without the
// scavenge first, whether one or two (tens of millions of instructions each) landed among the counted
// calls was chance: one build gave 487k and 581k per call in two modes. Bytes per call are printed for a
// run without GC, where heapUsed's growth is exactly the calls' garbage (raise --node-flags'
// semi-spaces for that; at 64 MB the plain side's counts spread more, 543k to 624k, not understood).
// It is not throughput: a call at 1 in flight also waits for the server and the kernel, the same for
// every side, so a side's throughput ratio is closer to 1 than its instruction ratio.
// Noise: the runs of one side mostly agree within 1 to 2% (with 5,000 warm calls at 5439e9e: plain grpc-js
// 418,539 / 426,712, Meshlet 480,336 / 483,459 / 484,525 / 481,763 / 479,195) unless a late recompile or a
// major GC falls inside (grpc-js-xds with 20,000 warm: 411,169 and 522,066).
// With 5,000 warm calls Meshlet's gRPC side also had a second, lower mode, process by process (453,648
// among 480k runs at 5439e9e; 442k among 466k later): late compiles in or out of the window (above).
// Use --repeat=5 or more when two builds differ by a few percent.
// Work driven by time (V8's heuristics, timers) grows when each call takes 100 times longer in wall
// time, as under valgrind, and more so on a loaded machine, so each side runs --repeat times (default
// 3), its median is its figure and every count is printed; keep --jobs at or below the idle cores. Node flags for the client: --node-flags="..." (default: the
// semi-space flags below). Tried and dropped: a full GC before counting (V8 then shrinks the young
// generation: more scavenges), --predictable-gc-schedule (counts spread more).
// --tree=DIR loads the Meshlet packages from another build (a checkout with its dist/, e.g. made
// with `git archive <rev> | tar -x -C DIR && cd DIR && pnpm install --offline && pnpm build`), so
// `--sides=meshlet --tree=DIR` against this tree's `--sides=meshlet` compares two builds.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBackends } from './harness/backend.mjs';
import { toObjectForm } from './harness/meshConfig.mjs';
import { loadControlPlane } from './harness/pkgs.mjs';
import { callgrindGcShare } from './harness/callgrindGcShare.mjs';
import { summarize } from './harness/stats.mjs';
import { greeterMesh, startBackend } from './scenarios/grpc-overhead.mjs';

const args = process.argv.slice(2);
const kind = args.find((a) => !a.startsWith('--')) ?? 'grpc';
const opt = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SIDES = { grpc: ['plain', 'meshlet', 'xds'], http: ['bare', 'meshlet'] };
if (!SIDES[kind]) throw new Error(`kind ${kind}: expected grpc or http`);
const sides = opt('sides', SIDES[kind].join(',')).split(',');
const calls = Number(opt('calls', 500));
const warm = Number(opt('warm', 20000));
const repeat = Number(opt('repeat', 3));
const jobs = Number(opt('jobs', 2));
const istioRetry = args.includes('--istio-retry');
// --no-request-id: the listener's HCM sets generate_request_id false (no x-request-id on Meshlet's calls).
const generateRequestId = !args.includes('--no-request-id');
// --sim: callgrind also simulates the caches and branch predictors (its model of a first-level cache
// and the last level, taken from the host) and reports, per call, the misses and mispredicts that the
// instruction count alone does not show: at 1 in flight a call's code runs once every few hundred
// microseconds, among the kernel's and the server's work, so how much distinct code it runs can matter
// more than how many instructions.
const sim = args.includes('--sim');
const SIM_EVENTS = ['I1mr', 'ILmr', 'D1mr', 'D1mw', 'DLmr', 'DLmw', 'Bcm', 'Bim'];
// The young generation held at its usual steady-state size (16 MB semi-spaces, Node 20's largest):
// how often a scavenge runs then follows what the calls allocate, not V8's resizing heuristics.
const nodeFlags = opt('node-flags', '--min-semi-space-size=16 --max-semi-space-size=16').split(' ').filter(Boolean);
const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const tree = resolve(opt('tree', repoRoot));
const child = fileURLToPath(new URL('./harness/instructions-child.mjs', import.meta.url));

const scratch = mkdtempSync(join(tmpdir(), 'meshlet-callgrind-'));
/** --keep=DIR: the callgrind output files go there and stay (callgrind_annotate; JIT frames resolve with --node-flags=--perf-basic-prof). */
const outDir = opt('keep', scratch);
const toggle = join(scratch, 'callgrind-toggle.node');
execFileSync('cc', [
  '-O2', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=callgrind_toggle',
  `-I${join(dirname(dirname(process.execPath)), 'include', 'node')}`,
  '-o', toggle, fileURLToPath(new URL('./harness/callgrind-toggle.c', import.meta.url)),
], { stdio: 'inherit' });

// --inline: each child also holds the other sides' clients and warms them in turn with its own (see
// instructions-child.mjs): what sharing one process, as the scenarios' --inline mode does, costs a side.
const settings = { kind, tree, istioRetry, generateRequestId, toggle, inlineSides: args.includes('--inline') ? SIDES[kind] : undefined };
const closers = [() => rmSync(scratch, { recursive: true, force: true })];
if (kind === 'grpc') {
  const backend = await startBackend();
  closers.push(backend.close);
  settings.grpcPort = backend.port;
  if (sides.includes('xds') || settings.inlineSides) {
    const cp = await loadControlPlane();
    const ads = new cp.AdsServer();
    settings.adsPort = (await ads.listen(0)).port;
    ads.setSnapshot(await toObjectForm(greeterMesh(backend.port, { istioRetry, generateRequestId })));
    closers.push(() => ads.close());
  }
} else {
  const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
  closers.push(backends.close);
  settings.httpPorts = backends.ports;
}

/** One valgrind run of one side's client: the instructions counted over its `calls`, and their bytes per call. */
function countInstructions(side) {
  return new Promise((resolveRun, reject) => {
    const p = spawn(
      'valgrind',
      ['--tool=callgrind', '--instr-atstart=no', ...(sim ? ['--cache-sim=yes', '--branch-sim=yes'] : []), `--callgrind-out-file=${join(outDir, `${side}.%p`)}`, process.execPath, '--expose-gc', ...nodeFlags, child, side, String(warm), String(calls), JSON.stringify(settings)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    let out = '';
    p.stderr.on('data', (d) => (err += d));
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const m = /Collected : ([\d ]+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`${side} exited ${code}:\n${err.slice(-2000)}`));
      // "Events : Ir ..." names the numbers of "Collected : ..." in order (Ir alone without --sim).
      const names = /Events +: ([\w ]+)/.exec(err)?.[1].trim().split(/ +/) ?? ['Ir'];
      const values = m[1].trim().split(/ +/).map(Number);
      const events = Object.fromEntries(names.map((n, i) => [n, values[i]]));
      const { gc } = callgrindGcShare(join(outDir, `${side}.${p.pid}`));
      resolveRun({ instructions: events.Ir, outsideGc: events.Ir - gc, events, ...JSON.parse(out.trim().split('\n').pop()) });
    });
  });
}

const runs = Array.from({ length: repeat }, () => sides).flat();
const counts = Object.fromEntries(sides.map((s) => [s, []]));
/** The same counts without V8's GC (harness/callgrindGcShare.mjs): what compares two builds. */
const outsideGc = Object.fromEntries(sides.map((s) => [s, []]));
const bytes = Object.fromEntries(sides.map((s) => [s, []]));
/** --sim: each run's simulated misses per call, by event. */
const simRuns = Object.fromEntries(sides.map((s) => [s, []]));
/** GCs among each run's counted calls. */
const gcRuns = Object.fromEntries(sides.map((s) => [s, []]));
const t0 = Date.now();
let next = 0;
async function worker() {
  while (next < runs.length) {
    const side = runs[next++];
    const run = await countInstructions(side);
    counts[side].push(run.instructions / calls);
    outsideGc[side].push(run.outsideGc / calls);
    gcRuns[side].push(run.gcs);
    if (sim) simRuns[side].push(Object.fromEntries(SIM_EVENTS.map((e) => [e, run.events[e] / calls])));
    if (run.gcs === 0) bytes[side].push(run.bytesPerCall);
  }
}
try {
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
} finally {
  for (const close of closers) await close();
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const median = (xs) => summarize(xs).median;
const baseSide = sides.includes(SIDES[kind][0]) ? SIDES[kind][0] : undefined;
const base = baseSide ? median(counts[baseSide]) : undefined;
console.log(
  `${kind}: client instructions per call at 1 in flight (callgrind; ${warm} warm, ${calls} counted${repeat > 1 ? `, median of ${repeat} runs` : ''}` +
    `${istioRetry ? ', istiod retry policy' : ''}${generateRequestId ? '' : ', generate_request_id false'}${settings.inlineSides ? ', every side in each process (--inline)' : ''}${tree !== repoRoot ? `, Meshlet from ${tree}` : ''}; ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
);
for (const s of sides) {
  const m = median(counts[s]);
  const rel = base !== undefined && s !== baseSide ? `  ${(m / base).toFixed(3)} x ${baseSide}, ${m - base >= 0 ? '+' : ''}${fmt(m - base)}` : '';
  console.log(`  ${s.padEnd(8)} ${fmt(m).padStart(10)}${rel}   (${counts[s].map((c, i) => `${fmt(c)} ${gcRuns[s][i]} GC`).join(', ')})${bytes[s].length ? `; ${fmt(median(bytes[s]))} B allocated per call` : ''}`);
}
console.log(`  outside GC (V8's collector's own functions left out; compare builds with these):`);
const baseOutside = baseSide ? median(outsideGc[baseSide]) : undefined;
for (const s of sides) {
  const m = median(outsideGc[s]);
  const rel = baseOutside !== undefined && s !== baseSide ? `  ${(m / baseOutside).toFixed(3)} x ${baseSide}, ${m - baseOutside >= 0 ? '+' : ''}${fmt(m - baseOutside)}` : '';
  console.log(`  ${s.padEnd(8)} ${fmt(m).padStart(10)}${rel}   (${outsideGc[s].map(fmt).join(', ')})`);
}
if (sim) {
  // Medians per event; the last column weighs them as a typical core pays (an L1 miss served from L2
  // ~12 cycles, a last-level miss ~200, a mispredict ~15): a rough guide, not a measurement.
  const cost = { I1mr: 12, D1mr: 12, D1mw: 12, ILmr: 200, DLmr: 200, DLmw: 200, Bcm: 15, Bim: 15 };
  console.log(`  simulated per call (median of runs): ${SIM_EVENTS.join(' ')}  ~stall cycles`);
  for (const s of sides) {
    const med = Object.fromEntries(SIM_EVENTS.map((e) => [e, median(simRuns[s].map((r) => r[e]))]));
    const stall = SIM_EVENTS.reduce((a, e) => a + med[e] * cost[e], 0);
    console.log(`  ${s.padEnd(8)} ${SIM_EVENTS.map((e) => fmt(med[e])).join(' ')}  ${fmt(stall)}`);
  }
}
if (args.includes('--json')) console.log(JSON.stringify({ kind, warm, calls, repeat, istioRetry, tree, perCall: counts, outsideGcPerCall: outsideGc, bytesPerCall: bytes, gcsPerRun: gcRuns, ...(sim ? { simulatedPerCall: simRuns } : {}) }));
