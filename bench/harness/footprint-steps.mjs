// Footprint step by step: memory after GC at each stage of a static-config Meshlet process
// (imports, envoyRoot(), config applied, dispatcher created, first requests, 20,000 requests),
// so a footprint change can be attributed. `node --expose-gc bench/harness/footprint-steps.mjs [--regex]`
// Backends run in this process too; their share is in the "backends" row and in every row after it.
// heapResident: V8 heap pages resident (young: of which new space); outsideHeap: anonymous resident memory that is not V8 heap (malloc, JIT zones, wasm), see residentMemory.mjs.
import { request } from 'undici';
import { getHeapSpaceStatistics } from 'node:v8';
import { heapResident, residentOutsideHeap } from './residentMemory.mjs';
import { startBackends } from './backend.mjs';
import { applyToStatic, realisticMesh, TARGET, DEFAULT_PATH } from './meshConfig.mjs';
import { loadHttp, loadXdsClient } from './pkgs.mjs';

const MB = 2 ** 20;
const rows = [];
const youngResident = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
const snapshot = () => ({ ...process.memoryUsage(), heap: heapResident(), young: youngResident(), outside: residentOutsideHeap() });
let prev = snapshot();
async function step(name) {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = snapshot();
  rows.push({
    step: name,
    rss: ((m.rss - prev.rss) / MB).toFixed(1),
    heapUsed: ((m.heapUsed - prev.heapUsed) / MB).toFixed(1),
    external: ((m.external - prev.external) / MB).toFixed(1),
    heapResident: ((m.heap - prev.heap) / MB).toFixed(1),
    young: ((m.young - prev.young) / MB).toFixed(1),
    outsideHeap: ((m.outside - prev.outside) / MB).toFixed(1),
  });
  prev = m;
}

await step('start');
const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
await step('backends');
const x = await loadXdsClient();
const { createMeshDispatcher } = await loadHttp();
await step('import @meshlet/xds-client, core, http');
x.envoyRoot();
await step('envoyRoot()');
const { ports } = backends;
const source = new x.StaticResourceSource();
const config = realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] });
if (!process.argv.includes('--regex')) {
  for (const vh of config.routes[0].virtual_hosts) vh.routes = vh.routes.filter((r) => !r.match.safe_regex);
}
await applyToStatic(source, config);
await step('config applied');
const dispatcher = await createMeshDispatcher({ source });
await step('createMeshDispatcher');
const url = `http://${TARGET}${DEFAULT_PATH}`;
async function send(n) {
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < n / 16; i++) await (await request(url, { dispatcher })).body.text();
    }),
  );
}
await send(16);
await step('first 16 requests');
await send(20_000);
await step('20,000 requests');
console.table(rows);
await dispatcher.destroy();
await backends.close();
