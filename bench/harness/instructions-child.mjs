// The client process that bench/instructions.mjs runs under callgrind: one side of the gRPC or HTTP
// overhead scenario, sending `warm` calls uncounted, then `calls` counted, one at a time (1 in flight).
//   node bench/harness/instructions-child.mjs <side> <warm> <calls> <json settings>
// Sides: grpc: plain | meshlet | xds; http: bare | meshlet. Settings (from the parent): the backend
// ports, the ADS port for grpc-js-xds, the tree to load Meshlet from, --istio-retry, the toggle addon.
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [side, warmArg, callsArg, settingsJson] = process.argv.slice(2);
const settings = JSON.parse(settingsJson);
const warm = Number(warmArg);
const calls = Number(callsArg);
const tree = new URL(settings.tree.endsWith('/') ? settings.tree : `${settings.tree}/`, 'file:///');
const pkg = (name) => import(new URL(`packages/${name}/dist/index.js`, tree).href);
/**
 * `dependency` as the tree's package `name` resolves it: the Meshlet side calls through the same module
 * instance its package uses, as in the workspace, where both resolve to one file. From another tree
 * (--tree) a second copy would otherwise be loaded, compiled and run beside the bench's own.
 */
const dependencyOf = (name, dependency) => import(pathToFileURL(createRequire(new URL(`packages/${name}/package.json`, tree)).resolve(dependency)).href);

async function grpcSend(side) {
  const { WORKSPACE_PACKAGES, grpcEchoClient } = await import('./grpcEcho.mjs');
  const packages = {
    ...WORKSPACE_PACKAGES,
    core: () => pkg('core'),
    xdsClient: () => pkg('xds-client'),
    grpc: () => pkg('grpc'),
    meshletGrpcJs: () => dependencyOf('grpc', '@grpc/grpc-js'),
    // --inline: every side on the one grpc-js (and grpc-js-xds) of the tree Meshlet comes from, so that
    // the sides share its code as they do in the workspace, with or without --tree.
    ...(settings.inlineSides ? { grpcJs: () => dependencyOf('grpc', '@grpc/grpc-js'), grpcJsXds: () => dependencyOf('control-plane', '@grpc/grpc-js-xds') } : {}),
  };
  const { send } = await grpcEchoClient(side, { ...settings, resolveTimeoutMs: 120_000 }, packages);
  return send;
}

async function httpSend(side) {
  const { WORKSPACE_HTTP_PACKAGES, httpBenchClient } = await import('./httpBenchClient.mjs');
  const packages = {
    ...WORKSPACE_HTTP_PACKAGES,
    meshletUndici: () => dependencyOf('http', 'undici'),
    xdsClient: () => pkg('xds-client'),
    http: () => pkg('http'),
  };
  const { send } = await httpBenchClient(side, settings.httpPorts, packages);
  return send;
}

const sendOf = (of) => (settings.kind === 'grpc' ? grpcSend(of) : httpSend(of));
const send = await sendOf(side);
/**
 * --inline: every side's client lives in this process, as in the overhead scenarios' --inline mode, and
 * the warm-up runs them in turn, a block of calls each, as those scenarios' rounds do; then `side` alone
 * is counted. Against a count without it, this is what sharing one process with the other stacks
 * (grpc-js's or undici's code, its V8 feedback, one heap) costs the counted side.
 */
const others = settings.inlineSides ? await Promise.all(settings.inlineSides.filter((s) => s !== side).map(sendOf)) : [];
const WARM_BLOCK = 1000;

// callgrind counts from start() to stop() only (bench/harness/callgrind-toggle.c, run under
// --instr-atstart=no): the warm-up and the exit are not in the count.
const toggle = createRequire(import.meta.url)(settings.toggle);
// GCs during the counted calls (the parent prints how many): a PerformanceObserver set up before the
// warm-up, so that its first use is not counted.
let gcs = 0;
let counting = false;
new PerformanceObserver((list) => {
  if (counting) gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
for (let done = 0; done < warm; done += WARM_BLOCK) {
  for (const other of others) for (let i = 0; i < WARM_BLOCK; i++) await other();
  for (let i = 0; i < Math.min(WARM_BLOCK, warm - done); i++) await send();
}
// A scavenge just before counting: every count then starts with an empty young generation (held at
// 16 MB by the parent's flags, its usual steady-state size), and the scavenges among the counted calls
// follow from what they allocate, as in a long run. Without it, whether one or two scavenges (tens of
// millions of instructions each) landed among 500 calls was chance: one build gave 487k and 581k per call.
// heapUsed's growth over the counted calls is their garbage when no GC ran among them (else it is
// lower: the parent then does not report bytes).
globalThis.gc({ type: 'minor' });
// The observer hears of that scavenge a turn of the event loop later: not a GC among the counted calls.
await new Promise((resolve) => setTimeout(resolve, 10));
const heapBefore = process.memoryUsage().heapUsed;
counting = true;
toggle.start();
for (let i = 0; i < calls; i++) await send();
toggle.stop();
const grown = process.memoryUsage().heapUsed - heapBefore;
// The observer hears of a GC a little later: give it a turn of the event loop (uncounted).
await new Promise((resolve) => setImmediate(resolve));
writeSync(1, `${JSON.stringify({ bytesPerCall: grown / calls, gcs })}\n`);
process.exit(0);
