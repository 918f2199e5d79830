// The HTTP path as the scenario runs it, without sockets: undici.request -> a dispatcher that calls the
// mesh interceptor directly, as MeshDispatcher.dispatch does (no compose(), so the caller's handler
// reaches the mesh in undici's legacy callbacks, as undici.request and fetch hand it) -> the attempts to an
// in-process dispatcher that answers each on the next macrotask with undici's legacy callbacks, as a
// Client does. (ab-http.mjs stub and profile-http.mjs meshlet-stub used to compose() the interceptor instead,
// which wraps the caller's handler in undici's WrapHandler and converts every response head back to
// Buffers: work the scenario's MeshDispatcher does not do (about 0.5 KB and a few hundred ns per request);
// session 8 retired the one and moved the other to this shape.)
//
//   BENCH_AB=/tmp/before [BENCH_AB_CANDIDATE=/tmp/after] node --expose-gc bench/ab-http-dispatcher.mjs ab [inFlight] [seconds] [pairs]
//     client CPU per request of the two builds in alternating rounds (swap the roles and run again)
//   node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 bench/ab-http-dispatcher.mjs bytes [inFlight] [requests]
//     bytes allocated per request (no GC during the count) of bare undici.request and of each build
//   BENCH_AB=/tmp/before node --expose-gc bench/ab-http-dispatcher.mjs own [rounds]
//     the mesh's own work only, as ab-http-inprocess.mjs measures it (legacy caller handlers, attempts held
//     and answered 64 at a time, CPU time per round), but with dispatch options made as undici.request makes
//     them: \`{ ...opts, origin, path, method }\`, which on Node 20 gives every request's options object a
//     hidden class of its own, so each property the mesh reads from it misses V8's inline caches. They are
//     made before each round, outside its timing. Alternating rounds; run both role orders.
//   node --cpu-prof --cpu-prof-dir=/tmp/p bench/ab-http-dispatcher.mjs profile [inFlight] [seconds]
//     load on the candidate alone, for a CPU profile (BENCH_HEAP=1: bytes by allocating function instead)
// Roots are built trees (`pnpm build`); the candidate defaults to this tree; `bytes` and `profile` need
// no BENCH_AB (then only the candidate and bare undici run).
import { Dispatcher, request } from 'undici';
import { allocationSites } from './harness/allocationSites.mjs';
import { alternate } from './harness/alternate.mjs';
import { builtMesh } from './harness/builtMesh.mjs';
import { bytesPerRequest } from './harness/bytesPerRequest.mjs';
import { cpuRounds } from './harness/cpuRounds.mjs';
import { answerHeld, HoldingDispatcher, LegacyCaller } from './harness/heldAttempts.mjs';
import { closedLoop } from './harness/load.mjs';
import { DEFAULT_PATH, TARGET } from './harness/meshConfig.mjs';

const mode = process.argv[2] ?? 'ab';
const inFlight = Number(process.argv[3] ?? 64);
const baselineRoot = process.env.BENCH_AB;
const candidateRoot = process.env.BENCH_AB_CANDIDATE ?? new URL('../', import.meta.url).pathname;
if ((mode === 'ab' || mode === 'own') && !baselineRoot) throw new Error('ab-http-dispatcher ab needs BENCH_AB=<root of the baseline build>');

const BODY = Buffer.from('ok');
const RAW_HEADERS = [Buffer.from('content-type'), Buffer.from('text/plain'), Buffer.from('content-length'), Buffer.from('2')];
const NO_TRAILERS = [];

/** Answers each attempt on the next macrotask with 200 and a small body, in the legacy callbacks a Client calls. */
class AnsweringDispatcher extends Dispatcher {
  dispatch(_opts, handler) {
    setImmediate(answer, handler);
    return true;
  }
  async close() {}
  async destroy() {}
}
function answer(handler) {
  handler.onConnect(noop);
  handler.onHeaders(200, RAW_HEADERS, noop, 'OK');
  handler.onData(BODY);
  handler.onComplete(NO_TRAILERS);
}
function noop() {}

/** A dispatcher shaped as MeshDispatcher: dispatch() calls the interceptor over the pools' dispatch. */
class DirectMeshDispatcher extends Dispatcher {
  constructor(meshDispatch) {
    super();
    this.meshDispatch = meshDispatch;
  }
  dispatch(opts, handler) {
    return this.meshDispatch(opts, handler);
  }
  async close() {}
  async destroy() {}
}

/** The realistic config's mesh from the build under `root`, as a send function. */
async function meshSide(root) {
  // Real pools for the attempts' bookkeeping (endpoint loads, settings), as MeshDispatcher passes them.
  const { http, mesh, pools, close } = await builtMesh(root);
  const stub = new AnsweringDispatcher();
  const dispatcher = new DirectMeshDispatcher(http.meshInterceptor({ mesh, pools })(stub.dispatch.bind(stub)));
  const url = `http://${TARGET}${DEFAULT_PATH}`;
  const holding = new HoldingDispatcher();
  const ownDispatch = http.meshInterceptor({ mesh, pools })(holding.dispatch.bind(holding));
  /** Dispatches each of `options` (64 at a time) with a legacy caller handler and answers them. */
  const own = (options) => {
    for (let i = 0; i < options.length; i += 64) {
      for (let j = i; j < i + 64 && j < options.length; j++) ownDispatch(options[j], new LegacyCaller());
      answerHeld(holding);
    }
  };
  return { send: () => request(url, { dispatcher }).then(readBody), own, close };
}

/** `n` dispatch options as undici.request makes them (api/index.js makeDispatcher), each with its own hidden class. */
function undiciOptions(n, dispatcher) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const opts = { dispatcher };
    // A new origin and path string each time, as undici's url.origin and url.pathname give.
    out.push({ ...opts, origin: URL_OF_REQUEST.origin, path: URL_OF_REQUEST.pathname, method: 'GET' });
  }
  return out;
}
const URL_OF_REQUEST = new URL(`http://${TARGET}${DEFAULT_PATH}`);

function bareSide() {
  const dispatcher = new AnsweringDispatcher();
  const url = `http://127.0.0.1:1${DEFAULT_PATH}`;
  return { send: () => request(url, { dispatcher }).then(readBody), close: async () => {} };
}

function readBody(r) {
  if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
  return r.body.text();
}

async function measure(send, durationMs) {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop({ send, inFlight, durationMs });
  const cpu = process.cpuUsage(cpu0);
  if (r.errors > 0) throw new Error(`${r.errors} requests failed`);
  return { rps: r.rps, cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, r.requests) };
}

if (mode === 'ab') {
  const seconds = Number(process.argv[4] ?? 2);
  const pairs = Number(process.argv[5] ?? 8);
  const sides = { baseline: await meshSide(baselineRoot), candidate: await meshSide(candidateRoot) };
  const result = await alternate({
    pairs,
    warmup: (s) => measure(sides[s].send, 1500),
    run: (s) => (global.gc?.(), measure(sides[s].send, seconds * 1000)),
    compare: { cpuUsPerRequest: 'diff', rps: 'ratio' },
    onPair: (i, p) => console.log(`pair ${i + 1}: baseline ${p.baseline.cpuUsPerRequest.toFixed(2)} us/request (${p.baseline.rps.toFixed(0)} rps) | candidate ${p.candidate.cpuUsPerRequest.toFixed(2)} us/request (${p.candidate.rps.toFixed(0)} rps)`),
  });
  const d = result.comparisons.cpuUsPerRequest;
  const lower = d.values.filter((v) => v < 0).length;
  console.log(`${inFlight} in flight, ${d.n} pairs: candidate minus baseline, client CPU per request: median ${d.median.toFixed(2)} us (p25..p75 ${d.p25.toFixed(2)}..${d.p75.toFixed(2)}, min..max ${d.min.toFixed(2)}..${d.max.toFixed(2)}); lower in ${lower} of ${d.n}`);
  for (const s of Object.values(sides)) await s.close();
} else if (mode === 'own') {
  const rounds = Number(process.argv[3] ?? 30);
  const perRound = 64 * 500;
  const sides = { baseline: await meshSide(baselineRoot), candidate: await meshSide(candidateRoot) };
  for (const s of Object.values(sides)) s.own(undiciOptions(64 * 200, null)); // warm-up: let V8 optimise both
  cpuRounds({
    rounds,
    perRound,
    prepare: () => undiciOptions(perRound, null),
    run: (name, options) => sides[name].own(options),
    label: "mesh's own work per request (undici.request's options)",
  });
  for (const s of Object.values(sides)) await s.close();
} else if (mode === 'bytes') {
  const requests = Number(process.argv[4] ?? 5000);
  const sides = { bare: bareSide(), ...(baselineRoot ? { baseline: await meshSide(baselineRoot) } : {}), candidate: await meshSide(candidateRoot) };
  for (const s of Object.values(sides)) await closedLoop({ send: s.send, inFlight, durationMs: 1000 });
  for (const [name, s] of Object.entries(sides)) {
    const { bytes, gcsDuring } = await bytesPerRequest({ send: s.send, inFlight, requests });
    console.log(`${name.padEnd(9)} ${bytes.toFixed(0)} B allocated per request over ${requests} requests at ${inFlight} in flight (GCs during: ${gcsDuring})`);
  }
  for (const s of Object.values(sides)) await s.close();
} else if (mode === 'profile') {
  const seconds = Number(process.argv[4] ?? 5);
  const side = process.env.BENCH_SIDE === 'bare' ? bareSide() : await meshSide(candidateRoot);
  await closedLoop({ send: side.send, inFlight, durationMs: 1000 });
  if (process.env.BENCH_HEAP === '1') {
    const requests = Number(process.env.BENCH_BYTES_REQUESTS ?? 5000);
    for (const { bytesPerRequest: b, frame } of await allocationSites({ send: side.send, inFlight, requests })) console.log(`${b.toFixed(0).padStart(6)} B/request  ${frame}`);
  } else {
    const r = await measure(side.send, seconds * 1000);
    console.log(`${inFlight} in flight: ${r.rps.toFixed(0)} rps, ${r.cpuUsPerRequest.toFixed(2)} us client CPU per request`);
  }
  await side.close();
} else throw new Error(`unknown mode ${mode}: ab, bytes or profile`);
