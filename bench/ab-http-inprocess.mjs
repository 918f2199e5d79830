// Same-process A/B of two Meshlet builds on the mesh's own per-request work only, for steps of
// 50 to 300 ns that bench/ab-http.mjs cannot see on a shared machine (its rounds move by microseconds):
//   BENCH_AB=/tmp/before [BENCH_AB_CANDIDATE=/tmp/after] node --expose-gc bench/ab-http-inprocess.mjs [rounds]
// Each root is a built tree (`pnpm build`); the candidate defaults to this tree. No sockets and no
// undici request API: requests go straight into the mesh interceptor (realistic config, upstream pools'
// bookkeeping included) over a dispatcher that holds the attempts' handlers and answers them 64 at a
// time, synchronously, with undici's legacy handler callbacks. Each request is dispatched as
// undici.request dispatches one (a new origin and path string each time, a legacy handler), so costs
// that depend on fresh strings (hashing an origin, say) are counted. Rounds alternate between the two
// builds; each is timed in CPU time (process.cpuUsage), not wall time, so other processes weigh less.
// What it measures is the mesh's work with warm caches: about half of what the same work costs
// between sockets and undici at 64 in flight (compare ab-http.mjs stub, pass-through).
import { Dispatcher } from 'undici';
import { DEFAULT_PATH, realisticMesh, TARGET } from './harness/meshConfig.mjs';

const rounds = Number(process.argv[2] ?? 40);
const baselineRoot = process.env.BENCH_AB;
if (!baselineRoot) throw new Error('ab-http-inprocess needs BENCH_AB=<root of the baseline build>');
const candidateRoot = process.env.BENCH_AB_CANDIDATE ?? new URL('../', import.meta.url).pathname;
const REQUESTS_PER_ROUND = 64 * 3000;

const RAW_HEADERS = [Buffer.from('content-type'), Buffer.from('text/plain'), Buffer.from('content-length'), Buffer.from('2')];
const BODY = Buffer.from('ok');
const URL_OF_REQUEST = new URL(`http://${TARGET}${DEFAULT_PATH}`);

/** Holds each attempt's handler until the batch is answered. */
class HoldingDispatcher extends Dispatcher {
  held = [];
  dispatch(_opts, handler) {
    this.held.push(handler);
    return true;
  }
  async close() {}
  async destroy() {}
}

/** The caller's side, as undici.request's handler: legacy callbacks. */
class Caller {
  onConnect(abort) {
    this.abort = abort;
  }
  onHeaders(status) {
    this.status = status;
    return true;
  }
  onData() {
    return true;
  }
  onComplete() {
    completed++;
  }
  onError(err) {
    errors++;
    if (errors === 1) console.error(err);
  }
}
let completed = 0;
let errors = 0;

/** The mesh of the realistic config from the build under `root`: a function that runs `n` requests. */
async function meshSide(root) {
  const dist = (path) => import(new URL(`packages/${path}`, `file://${root.replace(/\/?$/, '/')}`).href);
  const x = await dist('xds-client/dist/index.js');
  const core = await dist('core/dist/index.js');
  const http = await dist('http/dist/index.js');
  const { UpstreamPools } = await dist('http/dist/UpstreamPools.js');
  const source = new x.StaticResourceSource();
  const mesh = realisticMesh({ v1Ports: [1, 2], v2Ports: [3, 4] });
  const conv = (type, list) => list.map((o) => x.fromProto3Json(type.typeUrl, o));
  source.replaceFromObjects(x.ClusterLoadAssignmentResource, conv(x.ClusterLoadAssignmentResource, mesh.endpoints));
  source.replaceFromObjects(x.ClusterResource, conv(x.ClusterResource, mesh.clusters));
  source.replaceFromObjects(x.RouteConfigurationResource, conv(x.RouteConfigurationResource, mesh.routes));
  source.replaceFromObjects(x.ListenerResource, conv(x.ListenerResource, mesh.listeners));
  const m = await core.Mesh.create({ source });
  await m.resolve(TARGET);
  // Real pools for their per-attempt bookkeeping (endpoint loads, settings); nothing is dispatched to them.
  const pools = new UpstreamPools();
  const stub = new HoldingDispatcher();
  const dispatch = http.meshInterceptor({ mesh: m, pools })(stub.dispatch.bind(stub));
  const run = (n) => {
    for (let i = 0; i < n; i += 64) {
      for (let j = 0; j < 64; j++) {
        dispatch({ origin: URL_OF_REQUEST.origin, path: URL_OF_REQUEST.pathname, method: 'GET', dispatcher: undefined }, new Caller());
      }
      const held = stub.held;
      stub.held = [];
      for (const h of held) {
        h.onConnect(() => {});
        h.onHeaders(200, RAW_HEADERS, () => {}, 'OK');
        h.onData(BODY);
        h.onComplete([]);
      }
    }
  };
  return { run, close: async () => (await pools.agent.close(), m.close()) };
}

const sides = { baseline: await meshSide(baselineRoot), candidate: await meshSide(candidateRoot) };
for (const side of Object.values(sides)) side.run(64 * 500); // warm-up: let V8 optimise both
const perRequest = { baseline: [], candidate: [] };
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline']) {
    global.gc?.();
    const cpu0 = process.cpuUsage();
    sides[name].run(REQUESTS_PER_ROUND);
    const cpu = process.cpuUsage(cpu0);
    perRequest[name].push(((cpu.user + cpu.system) * 1000) / REQUESTS_PER_ROUND);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const diffs = perRequest.candidate.map((c, i) => c - perRequest.baseline[i]);
console.log(`mesh's own work per request: baseline ${median(perRequest.baseline).toFixed(0)} ns, candidate ${median(perRequest.candidate).toFixed(0)} ns (medians of ${rounds} rounds)`);
console.log(`candidate minus baseline: median ${median(diffs).toFixed(0)} ns (min..max ${Math.min(...diffs).toFixed(0)}..${Math.max(...diffs).toFixed(0)}); lower in ${diffs.filter((d) => d < 0).length} of ${rounds} rounds`);
if (errors > 0 || completed === 0) throw new Error(`requests failed: ${errors} errors, ${completed} completed`);
for (const side of Object.values(sides)) await side.close();
