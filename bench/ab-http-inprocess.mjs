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
// between sockets and undici at 64 in flight (compare ab-http-dispatcher.mjs ab).
import { builtMesh } from './harness/builtMesh.mjs';
import { cpuRounds } from './harness/cpuRounds.mjs';
import { answerHeld, HoldingDispatcher, LegacyCaller } from './harness/heldAttempts.mjs';
import { DEFAULT_PATH, TARGET } from './harness/meshConfig.mjs';

const rounds = Number(process.argv[2] ?? 40);
const baselineRoot = process.env.BENCH_AB;
if (!baselineRoot) throw new Error('ab-http-inprocess needs BENCH_AB=<root of the baseline build>');
const candidateRoot = process.env.BENCH_AB_CANDIDATE ?? new URL('../', import.meta.url).pathname;
const REQUESTS_PER_ROUND = 64 * 3000;

const URL_OF_REQUEST = new URL(`http://${TARGET}${DEFAULT_PATH}`);

/** The mesh of the realistic config from the build under `root`: a function that runs `n` requests. */
async function meshSide(root) {
  // Real pools for their per-attempt bookkeeping (endpoint loads, settings); nothing is dispatched to them.
  const { http, mesh, pools, close } = await builtMesh(root);
  const stub = new HoldingDispatcher();
  const dispatch = http.meshInterceptor({ mesh, pools })(stub.dispatch.bind(stub));
  const run = (n) => {
    for (let i = 0; i < n; i += 64) {
      for (let j = 0; j < 64; j++) {
        dispatch({ origin: URL_OF_REQUEST.origin, path: URL_OF_REQUEST.pathname, method: 'GET', dispatcher: undefined }, new LegacyCaller());
      }
      answerHeld(stub);
    }
  };
  return { run, close };
}

const sides = { baseline: await meshSide(baselineRoot), candidate: await meshSide(candidateRoot) };
for (const side of Object.values(sides)) side.run(64 * 500); // warm-up: let V8 optimise both
cpuRounds({ rounds, perRound: REQUESTS_PER_ROUND, run: (name) => sides[name].run(REQUESTS_PER_ROUND) });
for (const side of Object.values(sides)) await side.close();
