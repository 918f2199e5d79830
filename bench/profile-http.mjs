// Load for a CPU profile of one side of the HTTP overhead scenario (no alternation):
//   node --cpu-prof --cpu-prof-dir=bench/results/profiles bench/profile-http.mjs [meshlet|bare|meshlet-stub|bare-stub] [inFlight] [seconds]
//   node bench/harness/topFrames.mjs bench/results/profiles/<file>.cpuprofile
// Bytes per request (no GC during the count): BENCH_BYTES=1 node --expose-gc --min-semi-space-size=128
//   --max-semi-space-size=128 bench/profile-http.mjs meshlet-stub 64 1
// Bytes per request by allocating function: BENCH_HEAP=1 node bench/profile-http.mjs meshlet-stub 64 1
// The -stub sides send to an in-process dispatcher that answers every request at once (no
// sockets, no backend): what is left is undici's request API plus, for meshlet-stub, Meshlet's
// own per-request work, so the two stub sides isolate Meshlet's CPU cost on a noisy machine.
// meshlet-stub calls the mesh as MeshDispatcher does (as bench/ab-http-dispatcher.mjs), not through compose().
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Dispatcher, Pool, request } from 'undici';
import { startBackends } from './harness/backend.mjs';
import { allocationSites } from './harness/allocationSites.mjs';
import { bytesPerRequest } from './harness/bytesPerRequest.mjs';
import { closedLoop } from './harness/load.mjs';
import { applyToStatic, DEFAULT_PATH, realisticMesh, TARGET } from './harness/meshConfig.mjs';
import { loadCore, loadHttp, loadXdsClient } from './harness/pkgs.mjs';

const side = process.argv[2] ?? 'meshlet';
const inFlight = Number(process.argv[3] ?? 64);
const seconds = Number(process.argv[4] ?? 5);

/**
 * Answers each request on the next macrotask with 200 and a small body: in undici's legacy callbacks when the
 * handler has them (as a Client calls undici.request's own handler), else through the current handler API.
 * It allocates a little more per request than bench/ab-http-dispatcher.mjs's stub (a closure and a controller:
 * about 0.6 KB on both sides), so compare bytes between sides, not between tools.
 */
class AnsweringDispatcher extends Dispatcher {
  dispatch(_opts, handler) {
    const controller = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };
    setImmediate(() => {
      if (typeof handler.onHeaders === 'function' || typeof handler.onRequestStart !== 'function') {
        handler.onConnect?.(() => {});
        handler.onHeaders?.(200, RAW_HEADERS, () => {}, 'OK');
        handler.onData?.(BODY);
        handler.onComplete?.([]);
        return;
      }
      handler.onRequestStart(controller, {});
      handler.onResponseStart?.(controller, 200, { 'content-type': 'text/plain', 'content-length': '2' }, 'OK');
      handler.onResponseData?.(controller, BODY);
      handler.onResponseEnd?.(controller, {});
    });
    return true;
  }
  async close() {}
  async destroy() {}
}
const BODY = Buffer.from('ok');
const RAW_HEADERS = [Buffer.from('content-type'), Buffer.from('text/plain'), Buffer.from('content-length'), Buffer.from('2')];

const stub = side.endsWith('-stub');
const backends = stub ? { ports: { v1a: 1, v1b: 2, v2a: 3, v2b: 4 }, close: async () => {} } : await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
const { ports } = backends;
let send;
let dispatcher;
if (side.startsWith('bare')) {
  dispatcher = stub ? new AnsweringDispatcher() : new Pool(`http://127.0.0.1:${ports.v1a}`);
  send = () => request(`http://127.0.0.1:${ports.v1a}${DEFAULT_PATH}`, { dispatcher }).then((r) => r.body.text());
} else {
  const x = await loadXdsClient();
  const source = new x.StaticResourceSource();
  await applyToStatic(source, realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] }));
  if (stub) {
    const mesh = await (await loadCore()).Mesh.create({ source });
    // Shaped as MeshDispatcher: dispatch() calls the interceptor directly, so the caller's handler reaches the
    // mesh in undici's legacy callbacks as in the scenario (compose() would wrap it in undici's WrapHandler
    // and convert every response head back to Buffers: about 0.5 KB and a few hundred ns per request more).
    const answering = new AnsweringDispatcher();
    const meshDispatch = (await loadHttp()).meshInterceptor({ mesh })(answering.dispatch.bind(answering));
    dispatcher = new (class extends Dispatcher {
      dispatch(opts, handler) {
        return meshDispatch(opts, handler);
      }
      async close() {
        await mesh.close();
      }
      async destroy() {}
    })();
  } else {
    dispatcher = await (await loadHttp()).createMeshDispatcher({ source });
  }
  send = () => request(`http://${TARGET}${DEFAULT_PATH}`, { dispatcher }).then((r) => r.body.text());
}
await closedLoop({ send, inFlight, durationMs: 1000 });
if (process.env.BENCH_BYTES === '1') {
  // Bytes allocated per request (no GC during the count): see harness/bytesPerRequest.mjs for the node flags.
  const requests = Number(process.env.BENCH_BYTES_REQUESTS ?? 5000);
  const { bytes, gcsDuring } = await bytesPerRequest({ send, inFlight, requests });
  console.log(side, inFlight, `${bytes.toFixed(0)} B allocated per request over ${requests} requests (GCs during: ${gcsDuring})`);
}
if (process.env.BENCH_HEAP === '1') {
  // Where the bytes go, by allocating function: V8's sampling heap profiler.
  const requests = Number(process.env.BENCH_BYTES_REQUESTS ?? 5000);
  for (const { bytesPerRequest: b, frame } of await allocationSites({ send, inFlight, requests })) console.log(`${b.toFixed(0).padStart(6)} B/request  ${frame}`);
}
// Young-generation GCs during the measured loop, per 1,000 requests: with a fixed semi-space
// (e.g. --max-semi-space-size=16) a proxy for bytes allocated per request.
let scavenges = 0;
const gcs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
});
gcs.observe({ entryTypes: ['gc'] });
const r = await closedLoop({ send, inFlight, durationMs: seconds * 1000 });
gcs.disconnect();
console.log(side, inFlight, `${r.rps.toFixed(0)} rps p50 ${r.p50us.toFixed(0)}us p99 ${r.p99us.toFixed(0)}us errors ${r.errors}; scavenges per 1k requests ${((1000 * scavenges) / r.requests).toFixed(2)}`);
await dispatcher.close();
await backends.close();
