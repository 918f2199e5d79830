// Scenario 1: the cost of Meshlet on the HTTP request path.
// Baseline: a bare undici Pool to a loopback backend. Candidate: the Meshlet dispatcher
// (undici Agent + mesh interceptor) with a realistic config, sending to the same backend
// process (bench/harness/httpBenchClient.mjs). Closed-loop load at 1, 16 and 64 requests in flight;
// the backends run in a child process. Baseline and Meshlet rounds alternate after a warm-up.
// Each client and its load loop run in a process of its own (bench/harness/client-child.mjs), as a
// service runs one client stack; --inline runs both in this process (the mode of sessions 1 to 9,
// where bare undici's and Meshlet's calls share undici's code, its V8 feedback and one heap).
// Run: node --expose-gc bench/scenarios/http-overhead.mjs [--full] [--inline]
import { alternate } from '../harness/alternate.mjs';
import { startBackends } from '../harness/backend.mjs';
import { inlineSide, processSide } from '../harness/clientSides.mjs';
import { httpBenchClient } from '../harness/httpBenchClient.mjs';
import { DEFAULT_PATH } from '../harness/meshConfig.mjs';
import { main, metric } from '../harness/scenario.mjs';

export const scenario = {
  name: 'http-overhead',
  title: 'HTTP overhead: bare undici Pool vs Meshlet dispatcher (realistic config)',
  async run({ full, log }) {
    const params = {
      inFlight: [1, 16, 64],
      pairs: full ? 10 : 5,
      runMs: full ? 5000 : 1500,
      warmupMs: full ? 3000 : 1000,
      path: DEFAULT_PATH,
      inline: process.argv.includes('--inline'),
    };
    const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
    const { ports } = backends;
    const sides = {};
    for (const [side, kind] of [['baseline', 'bare'], ['candidate', 'meshlet']]) {
      sides[side] = params.inline ? inlineSide(await httpBenchClient(kind, ports)) : await processSide('http', kind, { ports });
    }

    const metrics = [];
    const raw = {};
    for (const inFlight of params.inFlight) {
      const load = (side, durationMs) => sides[side].load(inFlight, durationMs);
      // Client CPU per request: the client process's CPU time over the round's requests (with --inline,
      // this process's). The backends run in a child, so this is what each side costs the caller; at 64 in
      // flight the bare side is often bound by the backend (its client idles), so the CPU figure shows
      // Meshlet's cost where throughput cannot.
      const measured = async (side) => {
        const { cpuUsPerCall, ...r } = await load(side, params.runMs);
        return { ...r, cpuUsPerReq: cpuUsPerCall };
      };
      const result = await alternate({
        pairs: params.pairs,
        warmup: (side) => load(side, params.warmupMs),
        run: measured,
        compare: { rps: 'ratio', p50us: 'diff', p99us: 'diff', cpuUsPerReq: 'diff' },
        onPair: (i, p) =>
          log(
            `  ${inFlight} in flight, pair ${i + 1}: bare ${p.baseline.rps.toFixed(0)} rps p50 ${p.baseline.p50us.toFixed(0)}us | ` +
              `meshlet ${p.candidate.rps.toFixed(0)} rps p50 ${p.candidate.p50us.toFixed(0)}us  ratio ${(p.candidate.rps / p.baseline.rps).toFixed(3)}; ` +
              `client cpu ${p.baseline.cpuUsPerReq.toFixed(1)} | ${p.candidate.cpuUsPerReq.toFixed(1)} us/request`,
          ),
      });
      raw[inFlight] = result;
      const c = result.comparisons;
      metrics.push(metric(`${inFlight} in flight: bare rps`, 'req/s', result.sides.baseline.rps));
      metrics.push(metric(`${inFlight} in flight: meshlet rps`, 'req/s', result.sides.candidate.rps));
      metrics.push(metric(`${inFlight} in flight: throughput ratio`, 'ratio', c.rps, inFlight === 64 ? { op: '>=', value: 0.9 } : undefined));
      metrics.push(metric(`${inFlight} in flight: bare p50 / p99`, 'us', result.sides.baseline.p50us));
      metrics.push(metric(`${inFlight} in flight: added p50`, 'us', c.p50us, inFlight === 1 ? { op: '<=', value: 50 } : undefined));
      metrics.push(metric(`${inFlight} in flight: added p99`, 'us', c.p99us, inFlight === 1 ? { op: '<=', value: 200 } : undefined));
      metrics.push(metric(`${inFlight} in flight: client CPU per request: bare`, 'us', result.sides.baseline.cpuUsPerReq));
      metrics.push(metric(`${inFlight} in flight: client CPU per request: meshlet`, 'us', result.sides.candidate.cpuUsPerReq));
      metrics.push(metric(`${inFlight} in flight: client CPU added per request`, 'us', c.cpuUsPerReq));
    }
    // Keep the "bare p50 / p99" row honest: it reports p50; p99 is in raw.
    for (const m of metrics) if (m.name.endsWith('bare p50 / p99')) m.name = m.name.replace('bare p50 / p99', 'bare p50');

    for (const side of Object.values(sides)) await side.close();
    await backends.close();
    return {
      params,
      metrics,
      notes: [
        'added latency = Meshlet minus bare, per alternated pair; latency targets apply at 1 in flight (unloaded). At 16/64 in flight a closed loop\'s latency is in-flight / throughput, so it restates the throughput ratio.',
        'config: 10 routes (header match, regex, 7 prefixes, weighted 90/10 default with retry policy + timeout), 2 subsets x 2 endpoints, outlier detection, circuit breakers; @opentelemetry/api loaded, no SDK.',
        `backend: node:http in a child process on 127.0.0.1; ${params.inline ? 'load and both clients in the bench process (--inline)' : 'each client and its load loop in a process of its own'}.`,
        'client CPU per request = process.cpuUsage() of the client\'s process over a round / its requests (user + system).',
      ],
      raw,
    };
  },
};

await main(import.meta.url, scenario);
