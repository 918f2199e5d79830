// Scenario 5: hot-path micro benchmarks, no I/O.
//  - RouteTable.match over 1,000 routes: the last route and a mid-table route, for an
//    all-prefix table and a mixed table (every 10th route a safe_regex, every 10th a header match).
//  - ClusterRuntime.pick per LB policy over 10 and 100 endpoints.
// Speed: R repetitions of N operations, ns/op, median and spread over repetitions.
// Allocation: after global.gc(), heapUsed before and after M operations, divided by M; run
// with a large young generation (--min-semi-space-size / --max-semi-space-size = 64 MB) so no
// scavenge runs inside the measured loop; a PerformanceObserver counts GCs during the loop and
// the estimate is flagged when one ran (then it is a lower bound).
import { PerformanceObserver } from 'node:perf_hooks';
import { loadCore, loadXdsClient } from '../harness/pkgs.mjs';
import { main, metric } from '../harness/scenario.mjs';
import { summarize } from '../harness/stats.mjs';

const AUTHORITY = 'reviews.bench.svc.cluster.local:9080';

function routeConfig(kind) {
  const routes = [];
  for (let i = 0; i < 1000; i++) {
    let match = { prefix: `/api/svc${i}/` };
    if (kind === 'mixed' && i % 10 === 3) match = { safe_regex: { regex: `/api/svc${i}/items/[0-9]+` } };
    if (kind === 'mixed' && i % 10 === 7) match = { prefix: `/api/svc${i}/`, headers: [{ name: 'x-tenant', string_match: { exact: `t${i}` } }] };
    routes.push({ name: `r${i}`, match, route: { cluster: `c${i % 10}` } });
  }
  return { name: `rc-${kind}`, virtual_hosts: [{ name: 'vh', domains: [AUTHORITY, 'reviews.bench.svc.cluster.local'], routes }] };
}

function headersOf(obj) {
  return { get: (name) => obj[name] };
}

function timeOps(fn, n) {
  const t0 = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - t0) / n; // ns/op
}

async function allocPerOp(fn, m) {
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  globalThis.gc();
  globalThis.gc();
  const h0 = process.memoryUsage().heapUsed;
  fn(m);
  const h1 = process.memoryUsage().heapUsed;
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return { bytesPerOp: Math.max(0, (h1 - h0) / m), gcsDuringLoop: gcs };
}

async function measure(name, fn, { reps, n: maxN, m: maxM, repMs }) {
  fn(100); // warm-up (JIT)
  // Calibrate: each repetition runs about repMs (bounded by maxN ops), so slow cases stay bounded.
  const t0 = process.hrtime.bigint();
  fn(200);
  const nsPerOp = Number(process.hrtime.bigint() - t0) / 200;
  const n = Math.max(200, Math.min(maxN, Math.round((repMs * 1e6) / nsPerOp)));
  const m = Math.min(maxM, n);
  fn(n);
  const ns = [];
  for (let r = 0; r < reps; r++) ns.push(timeOps(fn, n));
  const alloc = await allocPerOp(fn, m);
  return { name, nsPerOp: summarize(ns), opsPerRep: n, allocOps: m, ...alloc };
}

export const scenario = {
  name: 'hot-path',
  title: 'Hot-path micro benchmarks: route match, endpoint pick per LB policy',
  async run({ full, log }) {
    if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
    const reps = full ? 15 : 7;
    const params = { reps, repMs: full ? 500 : 100, routeOps: full ? 200_000 : 50_000, pickOps: full ? 2_000_000 : 500_000, allocOps: 100_000 };
    const x = await loadXdsClient();
    const core = await loadCore();
    await core.initHashing();
    const results = [];

    // ---- route match
    for (const kind of ['prefix', 'mixed']) {
      const rc = x.RouteConfigurationResource.fromObject(x.fromProto3Json(x.RouteConfigurationResource.typeUrl, routeConfig(kind))).resource;
      const table = core.RouteTable.compile(rc);
      const cases = {
        last: { path: '/api/svc999/items/42', headers: {} },
        mid: { path: '/api/svc500/items/42', headers: {} },
      };
      for (const [where, c] of Object.entries(cases)) {
        const view = { authority: AUTHORITY, path: c.path, method: 'GET', headers: headersOf(c.headers), isGrpc: false };
        const expected = where === 'last' ? 'r999' : 'r500';
        const got = table.match(view)?.route.name;
        if (got !== expected) throw new Error(`route ${kind}/${where}: matched ${got}, expected ${expected}`);
        const fn = (k) => {
          let hits = 0;
          for (let i = 0; i < k; i++) if (table.match(view) !== undefined) hits++;
          return hits;
        };
        const r = await measure(`route match, 1000 ${kind} routes, ${where === 'last' ? 'last route' : 'route 500'}`, fn, { reps, n: params.routeOps, m: params.allocOps, repMs: params.repMs });
        results.push(r);
        log(`  ${r.name}: ${r.nsPerOp.median.toFixed(0)} ns/op, ${r.bytesPerOp.toFixed(1)} B/op`);
      }
    }

    // ---- endpoint pick
    const hashes = Array.from({ length: 1024 }, (_, i) => core.xxHash64(`user-${i}`));
    for (const size of [10, 100]) {
      for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV']) {
        const clusterJson = { name: `c-${policy}`, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: '1s', lb_policy: policy };
        const cluster = x.ClusterResource.fromObject(x.fromProto3Json(x.ClusterResource.typeUrl, clusterJson)).resource;
        const claJson = {
          cluster_name: cluster.name,
          endpoints: [{ locality: { zone: 'a' }, lb_endpoints: Array.from({ length: size }, (_, i) => ({ endpoint: { address: { socket_address: { address: `10.0.${i >> 8}.${i & 255}`, port_value: 8080 } } } })) }],
        };
        const cla = x.ClusterLoadAssignmentResource.fromObject(x.fromProto3Json(x.ClusterLoadAssignmentResource.typeUrl, claJson)).resource;
        const runtime = new core.ClusterRuntime(cluster);
        runtime.updateEndpoints(cla);
        const hashed = policy === 'RING_HASH' || policy === 'MAGLEV';
        const ctx = { random: Math.random, hash: undefined };
        const fn = (k) => {
          let last;
          for (let i = 0; i < k; i++) {
            if (hashed) ctx.hash = hashes[i & 1023];
            last = runtime.pick(ctx);
          }
          return last;
        };
        if (!fn(1)) throw new Error(`${policy}: no host picked`);
        const r = await measure(`pick ${policy}, ${size} endpoints${hashed ? ' (request hash given)' : ''}`, fn, { reps, n: params.pickOps, m: params.allocOps, repMs: params.repMs });
        results.push(r);
        runtime.close();
        log(`  ${r.name}: ${r.nsPerOp.median.toFixed(0)} ns/op, ${r.bytesPerOp.toFixed(1)} B/op`);
      }
    }

    const metrics = [];
    for (const r of results) {
      const ops = summarize([1e9 / r.nsPerOp.median]);
      metrics.push(metric(`${r.name}: time`, 'ns/op', r.nsPerOp));
      metrics.push(metric(`${r.name}: ops/s`, 'ops/s', ops));
      metrics.push(metric(`${r.name}: alloc`, 'B/op', r.bytesPerOp, undefined, r.gcsDuringLoop ? `${r.gcsDuringLoop} GC(s) ran in the loop: lower bound` : undefined));
    }
    return {
      params,
      metrics,
      notes: [
        'alloc = (heapUsed after M ops - heapUsed before, after 2x global.gc()) / M, with a 64 MB young generation so the loop runs without a scavenge (GCs during the loop are counted and flagged).',
        'ring hash / maglev picks are given a precomputed request hash (the route hash_policy cost is not included).',
      ],
      raw: results,
    };
  },
};

await main(import.meta.url, scenario);
