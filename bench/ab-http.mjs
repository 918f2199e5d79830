// Same-process A/B of two Meshlet builds on the HTTP path: client CPU per request of each, in
// alternating rounds, for a change too small to see across separate processes on a shared machine.
//   BENCH_AB=/tmp/before [BENCH_AB_CANDIDATE=/tmp/after] node --expose-gc bench/ab-http.mjs real [inFlight] [seconds] [pairs]
// Each root is a built tree (`pnpm build`); the candidate defaults to this tree. Requests go to
// loopback backends through each build's createMeshDispatcher. Run it twice with the roles swapped
// (BENCH_AB and BENCH_AB_CANDIDATE exchanged): the build loaded second tends to measure a little
// slower, and the swapped run cancels that. Without sockets, use bench/ab-http-dispatcher.mjs ab:
// this tool's former `stub` mode went through undici's compose(), which the scenario never does.
import { request } from 'undici';
import { alternate } from './harness/alternate.mjs';
import { startBackends } from './harness/backend.mjs';
import { closedLoop } from './harness/load.mjs';
import { DEFAULT_PATH, realisticMesh, TARGET } from './harness/meshConfig.mjs';

const mode = process.argv[2] ?? 'real';
if (mode !== 'real') throw new Error(`ab-http.mjs ${mode}: only 'real' (loopback backends); without sockets use bench/ab-http-dispatcher.mjs ab`);
const inFlight = Number(process.argv[3] ?? 64);
const seconds = Number(process.argv[4] ?? 2);
const pairs = Number(process.argv[5] ?? 6);
const baselineRoot = process.env.BENCH_AB;
if (!baselineRoot) throw new Error('ab-http needs BENCH_AB=<root of the baseline build>');
const candidateRoot = process.env.BENCH_AB_CANDIDATE ?? new URL('../', import.meta.url).pathname;

const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
const { ports } = backends;
const closers = [];

/** The mesh of the realistic config, from the build under `root`, as a send function. */
async function meshSide(root) {
  const dist = (pkg) => import(new URL(`packages/${pkg}/dist/index.js`, `file://${root.replace(/\/?$/, '/')}`).href);
  const x = await dist('xds-client');
  const http = await dist('http');
  const source = new x.StaticResourceSource();
  const mesh = realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] });
  const conv = (type, list) => list.map((o) => x.fromProto3Json(type.typeUrl, o));
  source.replaceFromObjects(x.ClusterLoadAssignmentResource, conv(x.ClusterLoadAssignmentResource, mesh.endpoints));
  source.replaceFromObjects(x.ClusterResource, conv(x.ClusterResource, mesh.clusters));
  source.replaceFromObjects(x.RouteConfigurationResource, conv(x.RouteConfigurationResource, mesh.routes));
  source.replaceFromObjects(x.ListenerResource, conv(x.ListenerResource, mesh.listeners));
  const dispatcher = await http.createMeshDispatcher({ source });
  closers.push(() => dispatcher.close());
  return () => request(`http://${TARGET}${DEFAULT_PATH}`, { dispatcher }).then((r) => r.body.text());
}

async function measure(send, durationMs) {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop({ send, inFlight, durationMs });
  const cpu = process.cpuUsage(cpu0);
  return { rps: r.rps, cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, r.requests), errors: r.errors };
}

const sends = { baseline: await meshSide(baselineRoot), candidate: await meshSide(candidateRoot) };
const result = await alternate({
  pairs,
  warmup: (s) => measure(sends[s], 1500),
  run: (s) => measure(sends[s], seconds * 1000),
  compare: { cpuUsPerRequest: 'diff', rps: 'ratio' },
  onPair: (i, p) => console.log(`pair ${i + 1}: baseline ${p.baseline.cpuUsPerRequest.toFixed(1)} us/request (${p.baseline.rps.toFixed(0)} rps) | candidate ${p.candidate.cpuUsPerRequest.toFixed(1)} us/request (${p.candidate.rps.toFixed(0)} rps)`),
});
const d = result.comparisons.cpuUsPerRequest;
console.log(`${mode}, ${inFlight} in flight, ${d.n} pairs: candidate minus baseline, client CPU per request: median ${d.median.toFixed(2)} us (min..max ${d.min.toFixed(2)}..${d.max.toFixed(2)})`);
for (const close of closers) await close();
await backends.close();
