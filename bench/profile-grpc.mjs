// One side of the gRPC overhead scenario alone (no rotation with the other sides), for a CPU
// profile, bytes per call, or a same-process A/B of two Meshlet builds:
//   node --cpu-prof --cpu-prof-dir=/tmp/grpcprof bench/profile-grpc.mjs [plain|meshlet|plain-stub|meshlet-stub] [inFlight] [seconds]
// The -stub sides send to an in-process AnsweringChannel (no sockets, no backend work): what is left
// is grpc-js's client surface plus, for meshlet-stub, Meshlet's own per-call work.
//   node bench/harness/topFrames.mjs /tmp/grpcprof/<file>.cpuprofile
// BENCH_TREE=<dir> loads the Meshlet packages from another build (see A/B below) instead of this tree's.
// Bytes per call (no GC during the count):
//   BENCH_BYTES=1 node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128 bench/profile-grpc.mjs meshlet 64 1
// Bytes per call by allocating function (sampled, so read the small ones as approximate):
//   BENCH_HEAP=1 node bench/profile-grpc.mjs meshlet-stub 64 1
// A/B of client CPU per call against another build of the packages (a copy of the repo's packages/
// with their dist, e.g. made with `cp -a packages /tmp/before/ && ln -s $PWD/node_modules /tmp/before/`):
//   BENCH_AB=/tmp/before [BENCH_AB_CANDIDATE=/tmp/after] node --expose-gc bench/profile-grpc.mjs ab 64 2.5 [pairs]
// (or ab-stub, over the answering channel below) runs that build (baseline) and this tree's, or
// BENCH_AB_CANDIDATE's, (candidate) alternately, each on its own channel to the
// same backend, with a plain grpc-js round between the two sides of each pair: CPU per call and p50
// latency, candidate minus baseline and each minus plain (BENCH_WARMUP_MS, default 1500 per side). Both builds share one
// grpc-js, so the difference is Meshlet's own work. The backend runs in a child process: the CPU
// counted here is the client's alone.
// Cold caches: BENCH_EVICT_MB=16 reads 16 MB before every call on every side (see readEvictBuffer), e.g.
//   BENCH_EVICT_MB=16 BENCH_AB=<base> BENCH_AB_CANDIDATE=<new> node --expose-gc bench/profile-grpc.mjs ab-stub 1 0.3 24
// At 1 in flight on real sockets each call starts with cold caches; the warm stub hides that cost.
import { allocationSites } from './harness/allocationSites.mjs';
import { bytesPerRequest } from './harness/bytesPerRequest.mjs';
import { alternate } from './harness/alternate.mjs';
import { closedLoop } from './harness/load.mjs';
import { summarize } from './harness/stats.mjs';
import { toObjectForm } from './harness/meshConfig.mjs';
import { loadGrpcJs } from './harness/pkgs.mjs';
import { echoClientOf, greeterMesh, startBackend, staticSourceOf } from './scenarios/grpc-overhead.mjs';

const side = (process.argv[2] ?? 'meshlet').replace(/-stub$/, '');
const stub = (process.argv[2] ?? '').endsWith('-stub');
const inFlight = Number(process.argv[3] ?? 64);
const seconds = Number(process.argv[4] ?? 5);
const pairs = Number(process.argv[5] ?? 3);
const TARGET = 'xds:///greeter.bench.local:50051';

const grpc = await loadGrpcJs();
const Echo = echoClientOf(grpc);
const backend = await startBackend();
const objects = await toObjectForm(greeterMesh(backend.port));
const payload = Buffer.alloc(64, 7);
const closers = [];

/**
 * A unary-call function over a Meshlet channel built from the packages under `root` (a repo checkout or copy).
 * With `stub`, every attempt goes to an AnsweringChannel instead of the endpoint's grpc-js channel.
 */
async function meshletSide(root) {
  const pkg = (name) => import(new URL(`packages/${name}/dist/index.js`, root).href);
  const [x, { Mesh }, { createMeshChannel }] = await Promise.all([pkg('xds-client'), pkg('core'), pkg('grpc')]);
  const mesh = await Mesh.create({ source: staticSourceOf(x, objects), resolveTimeoutMs: 5000 });
  const channel = await createMeshChannel(TARGET, { mesh });
  if (stub) {
    // Bench-only: the pool hands out the answering channel (one lease object serves all attempts).
    const lease = { channel: new AnsweringChannel(), release() {} };
    channel.endpoints.acquire = () => lease;
  }
  const client = new Echo(TARGET, grpc.credentials.createInsecure(), { channelOverride: channel });
  closers.push(() => (client.close(), mesh.close()));
  return unary(client);
}

function plainSide() {
  const options = stub ? { channelOverride: new AnsweringChannel() } : { 'grpc.use_local_subchannel_pool': 1 };
  const client = new Echo(`127.0.0.1:${backend.port}`, grpc.credentials.createInsecure(), options);
  closers.push(() => client.close());
  return unary(client);
}

/**
 * A channel whose calls answer in-process on the next macrotask (response headers, the request
 * echoed once read, then OK): no sockets and no HTTP/2, so the two stub sides differ only by
 * Meshlet's own per-call work, which their CPU per call then isolates from grpc-js's transport.
 */
class AnsweringChannel {
  createCall() {
    return new AnsweringCall();
  }
  getTarget() {
    return 'stub';
  }
  getConnectivityState() {
    return grpc.connectivityState.READY;
  }
  watchConnectivityState() {}
  getChannelzRef() {
    return { kind: 'channel', id: 0, name: 'stub' };
  }
  close() {}
}

class AnsweringCall {
  listener = undefined;
  message = undefined;
  headSent = false;
  readWanted = false;
  start(_metadata, listener) {
    this.listener = listener;
  }
  sendMessageWithContext(context, message) {
    this.message = message;
    context.callback?.();
  }
  halfClose() {
    setImmediate(() => {
      this.headSent = true;
      this.listener.onReceiveMetadata(new grpc.Metadata());
      if (this.readWanted) this.answer();
    });
  }
  startRead() {
    this.readWanted = true;
    if (this.headSent) this.answer();
  }
  answer() {
    const message = this.message;
    if (message === undefined) return;
    this.message = undefined;
    this.listener.onReceiveMessage(message);
    this.listener.onReceiveStatus({ code: grpc.status.OK, details: 'OK', metadata: new grpc.Metadata() });
  }
  cancelWithStatus() {}
  getPeer() {
    return 'stub';
  }
  getDeadline() {
    return Infinity;
  }
  getCallNumber() {
    return 0;
  }
  setCredentials() {}
  getAuthContext() {
    return null;
  }
}

/**
 * BENCH_EVICT_MB=<n>: every call (on every side) is preceded by reading n MB, one byte per 64-byte
 * line, so it starts with cold CPU caches, as calls at 1 in flight on real sockets do (the backend
 * process and other tenants run in between). The read's own CPU time is the same on every side.
 */
const evict = Number(process.env.BENCH_EVICT_MB ?? 0) > 0 ? new Uint8Array(Number(process.env.BENCH_EVICT_MB) * 1024 * 1024).fill(1) : undefined;
let evictSum = 0;
function readEvictBuffer() {
  let sum = 0;
  for (let i = 0; i < evict.length; i += 64) sum += evict[i];
  evictSum += sum;
}

function unary(client) {
  const call = () => new Promise((resolve, reject) => client.Echo(payload, (err, res) => (err ? reject(err) : resolve(res))));
  return evict === undefined ? call : () => (readEvictBuffer(), call());
}

/** Closed-loop load for `durationMs`, with the process's CPU time (user + system) per call. */
async function measure(send, durationMs) {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop({ send, inFlight, durationMs });
  const cpu = process.cpuUsage(cpu0);
  return { rps: r.rps, p50us: r.p50us, cpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, r.requests), errors: r.errors };
}

const thisTree = new URL('../', import.meta.url);
const rootOf = (dir) => new URL(`file://${dir.replace(/\/?$/, '/')}`);
if (side === 'ab') {
  const other = process.env.BENCH_AB;
  if (!other) throw new Error('ab needs BENCH_AB=<root of the baseline build>');
  const plain = plainSide();
  const candidate = process.env.BENCH_AB_CANDIDATE;
  const sends = { baseline: await meshletSide(rootOf(other)), candidate: await meshletSide(candidate ? rootOf(candidate) : thisTree) };
  const ms = seconds * 1000;
  const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 1500);
  const result = await alternate({
    pairs,
    warmup: async (s) => (await measure(sends[s], warmupMs), s === 'candidate' ? await measure(plain, warmupMs) : undefined),
    // A plain round runs between the two sides of each pair (baseline, plain, candidate, then
    // candidate, plain, baseline), so each side's "minus plain" compares rounds next to each other.
    run: async (s, i) => {
      const r = await measure(sends[s], ms);
      return (i % 2 === 0) === (s === 'baseline') ? { ...r, plain: await measure(plain, ms) } : r;
    },
    compare: { cpuUsPerCall: 'diff', p50us: 'diff', rps: 'ratio' },
    onPair: (i, pair) => {
      const fmt = (r) => `${r.cpuUsPerCall.toFixed(1)} us/call ${r.rps.toFixed(0)} rps p50 ${r.p50us.toFixed(0)}us${r.errors ? ` (${r.errors} errors)` : ''}`;
      console.log(`pair ${i + 1}, ${inFlight} in flight: baseline ${fmt(pair.baseline)} | candidate ${fmt(pair.candidate)} | plain ${fmt(pair.baseline.plain ?? pair.candidate.plain)}`);
    },
  });
  const d = result.comparisons.cpuUsPerCall;
  const l = result.comparisons.p50us;
  const over = (side, metric) => summarize(result.runs.map((r) => r[side][metric] - (r.baseline.plain ?? r.candidate.plain)[metric]));
  const fmt = (x) => `median ${x.median.toFixed(1)} us (min..max ${x.min.toFixed(1)}..${x.max.toFixed(1)})`;
  console.log(`candidate minus baseline, ${d.n} pairs: client CPU per call ${fmt(d)}; p50 latency ${fmt(l)}`);
  console.log(`minus plain, client CPU per call: baseline ${fmt(over('baseline', 'cpuUsPerCall'))}, candidate ${fmt(over('candidate', 'cpuUsPerCall'))}`);
  console.log(`minus plain, p50 latency: baseline ${fmt(over('baseline', 'p50us'))}, candidate ${fmt(over('candidate', 'p50us'))}`);
} else {
  const send = side === 'plain' ? plainSide() : await meshletSide(process.env.BENCH_TREE ? rootOf(process.env.BENCH_TREE) : thisTree);
  await closedLoop({ send, inFlight, durationMs: 1000 });
  if (process.env.BENCH_BYTES === '1') {
    // Bytes allocated per call (no GC during the count): see harness/bytesPerRequest.mjs for the node flags.
    const calls = Number(process.env.BENCH_BYTES_CALLS ?? 5000);
    const { bytes, gcsDuring } = await bytesPerRequest({ send, inFlight, requests: calls });
    console.log(side, inFlight, `${bytes.toFixed(0)} B allocated per call over ${calls} calls (GCs during: ${gcsDuring})`);
  }
  if (process.env.BENCH_HEAP === '1') {
    // Where the bytes go: V8's sampling heap profiler over the calls, objects the GC already freed included.
    const calls = Number(process.env.BENCH_BYTES_CALLS ?? 5000);
    const top = await allocationSites({ send, inFlight, requests: calls });
    for (const { bytesPerRequest, frame } of top) console.log(`${bytesPerRequest.toFixed(0).padStart(6)} B/call  ${frame}`);
  }
  const r = await measure(send, seconds * 1000);
  console.log(side, inFlight, `${r.rps.toFixed(0)} rps p50 ${r.p50us.toFixed(0)}us, client CPU ${r.cpuUsPerCall.toFixed(1)} us/call, errors ${r.errors}`);
}
for (const close of closers) close();
backend.close();
