// Load for a CPU profile of one side of the HTTP overhead scenario (no alternation):
//   node --cpu-prof --cpu-prof-dir=bench/results/profiles bench/profile-http.mjs [meshlet|bare] [inFlight] [seconds]
//   node bench/harness/topFrames.mjs bench/results/profiles/<file>.cpuprofile
import { Pool, request } from 'undici';
import { startBackends } from './harness/backend.mjs';
import { closedLoop } from './harness/load.mjs';
import { applyToStatic, DEFAULT_PATH, realisticMesh, TARGET } from './harness/meshConfig.mjs';
import { loadHttp, loadXdsClient } from './harness/pkgs.mjs';

const side = process.argv[2] ?? 'meshlet';
const inFlight = Number(process.argv[3] ?? 64);
const seconds = Number(process.argv[4] ?? 5);
const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
const { ports } = backends;
let send;
let dispatcher;
if (side === 'bare') {
  dispatcher = new Pool(`http://127.0.0.1:${ports.v1a}`);
  send = () => request(`http://127.0.0.1:${ports.v1a}${DEFAULT_PATH}`, { dispatcher }).then((r) => r.body.text());
} else {
  const x = await loadXdsClient();
  const source = new x.StaticResourceSource();
  await applyToStatic(source, realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] }));
  dispatcher = await (await loadHttp()).createMeshDispatcher({ source });
  send = () => request(`http://${TARGET}${DEFAULT_PATH}`, { dispatcher }).then((r) => r.body.text());
}
await closedLoop({ send, inFlight, durationMs: 1000 });
const r = await closedLoop({ send, inFlight, durationMs: seconds * 1000 });
console.log(side, inFlight, `${r.rps.toFixed(0)} rps p50 ${r.p50us.toFixed(0)}us p99 ${r.p99us.toFixed(0)}us`);
await dispatcher.close();
await backends.close();
