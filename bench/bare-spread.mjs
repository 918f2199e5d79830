// What the HTTP overhead scenario's baseline leaves out, measured without Meshlet: bare undici to one
// Pool (the scenario's baseline) against bare undici doing what the mesh config makes every request do
// on the wire: spread over the four backends at the route's 45/45/5/5 split and carry the two headers
// Envoy adds (x-request-id, x-envoy-expected-rq-timeout-ms). Same backends, alternated pairs.
//   node --expose-gc bench/bare-spread.mjs [inFlight] [seconds] [pairs]
// The candidate/baseline ratio is the part of the scenario's ratio that no in-process mesh honouring the
// config and Envoy's headers can recover.
import { randomUUID } from 'node:crypto';
import { Pool, request } from 'undici';
import { alternate } from './harness/alternate.mjs';
import { startBackends } from './harness/backend.mjs';
import { closedLoop } from './harness/load.mjs';
import { DEFAULT_PATH } from './harness/meshConfig.mjs';

const inFlight = Number(process.argv[2] ?? 64);
const seconds = Number(process.argv[3] ?? 3);
const pairs = Number(process.argv[4] ?? 8);

const backends = await startBackends(['v1a', 'v1b', 'v2a', 'v2b']);
const { ports } = backends;
const poolOf = (port) => new Pool(`http://127.0.0.1:${port}`, { keepAliveTimeout: 30_000 });
const one = poolOf(ports.v1a);
const four = [ports.v1a, ports.v1b, ports.v2a, ports.v2b].map((port) => ({ port, pool: poolOf(port) }));
// 90/10 between the subsets, round robin within each: 45/45/5/5.
let rr = 0;
const pick = () => (Math.random() < 0.9 ? four[rr++ & 1] : four[2 + (rr++ & 1)]);

const send = {
  baseline: () => request(`http://127.0.0.1:${ports.v1a}${DEFAULT_PATH}`, { dispatcher: one }).then((r) => r.body.text()),
  candidate: () => {
    const { port, pool } = pick();
    return request(`http://127.0.0.1:${port}${DEFAULT_PATH}`, {
      dispatcher: pool,
      headers: { 'x-request-id': randomUUID(), 'x-envoy-expected-rq-timeout-ms': '2000' },
    }).then((r) => r.body.text());
  },
};

const measured = async (side) => {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop({ send: send[side], inFlight, durationMs: seconds * 1000 });
  const cpu = process.cpuUsage(cpu0);
  return { rps: r.rps, cpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, r.requests) };
};
const result = await alternate({
  pairs,
  warmup: (side) => closedLoop({ send: send[side], inFlight, durationMs: 1500 }),
  run: measured,
  compare: { rps: 'ratio', cpuUsPerReq: 'diff' },
  onPair: (i, p) => console.log(`pair ${i + 1}: one pool ${p.baseline.rps.toFixed(0)} rps ${p.baseline.cpuUsPerReq.toFixed(1)} us/req | four pools + headers ${p.candidate.rps.toFixed(0)} rps ${p.candidate.cpuUsPerReq.toFixed(1)} us/req`),
});
const f = (c) => `${c.median.toFixed(3)} (p25..p75 ${c.p25.toFixed(3)}..${c.p75.toFixed(3)}, min..max ${c.min.toFixed(3)}..${c.max.toFixed(3)})`;
console.log(`${inFlight} in flight, ${pairs} pairs: four pools + headers / one pool throughput ${f(result.comparisons.rps)}; client CPU added per request ${f(result.comparisons.cpuUsPerReq)} us`);
for (const { pool } of four) await pool.close();
await one.close();
await backends.close();
