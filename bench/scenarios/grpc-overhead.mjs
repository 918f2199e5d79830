// Scenario (gRPC overhead): the cost of Meshlet on the unary gRPC call path.
// One grpc-js Server (generic Buffer echo service, no .proto) in a child process on 127.0.0.1.
// Three clients in this process, each with its own connection:
//  - plain:   grpc-js client to the fixed address 127.0.0.1:PORT (the physical limit);
//  - meshlet: createMeshChannel('xds:///greeter.bench.local:50051', { mesh }), Mesh over a
//             StaticResourceSource holding an istiod-shaped config (listener host:port with an
//             api_listener HCM over RDS, route config and EDS cluster outbound|PORT||HOST);
//  - xds:     @grpc/grpc-js-xds (register(), GRPC_XDS_BOOTSTRAP_CONFIG) against an AdsServer
//             from @meshlet/control-plane serving the same resources.
// Closed-loop unary load at 1 and 64 calls in flight. After a warm-up of each side, rounds run
// in a rotating order (pair i starts with side i mod 3), and each pair gives the ratios
// meshlet/plain, xds/plain and meshlet/xds: median with p25..p75 and min..max.
// Run: node --expose-gc bench/scenarios/grpc-overhead.mjs [--full] [--istio-retry]
// --istio-retry: the route carries istiod's default retry policy (ISTIO_DEFAULT_RETRY_POLICY below).
import { fork } from 'node:child_process';
import { closedLoop } from '../harness/load.mjs';
import { listener, toObjectForm } from '../harness/meshConfig.mjs';
import { loadControlPlane, loadCore, loadGrpc, loadGrpcJs, loadGrpcJsXds, loadXdsClient } from '../harness/pkgs.mjs';
import { main, metric } from '../harness/scenario.mjs';
import { summarize } from '../harness/stats.mjs';

const HOST = 'greeter.bench.local';
const PORT = 50051;
const TARGET = `${HOST}:${PORT}`;
const ROUTE = `outbound|${PORT}||${HOST}`;
const CLUSTER = `outbound|${PORT}||${HOST}`;
const SIDES = ['plain', 'meshlet', 'xds'];

/**
 * The retry policy istiod puts on every HTTP route it generates unless a VirtualService says otherwise
 * (as in the real Istio dumps under shared/fixtures/xds-real/). With it a call may take a second attempt:
 * its first attempt still runs as a DirectCall, and the policy's classification of each outcome is
 * what a call pays on top. `--istio-retry` shows what an istiod-driven mesh pays.
 */
export const ISTIO_DEFAULT_RETRY_POLICY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
  host_selection_retry_max_attempts: '5',
  retriable_status_codes: [503],
};

/** The istiod-shaped mesh for one backend port, as proto3 JSON (also used by bench/profile-grpc.mjs). */
export function greeterMesh(port, { istioRetry = false } = {}) {
  const route = { cluster: CLUSTER, timeout: '0s', ...(istioRetry ? { retry_policy: ISTIO_DEFAULT_RETRY_POLICY } : {}) };
  return {
    listeners: [listener(TARGET, ROUTE)],
    routes: [{ name: ROUTE, virtual_hosts: [{ name: TARGET, domains: [HOST, TARGET], routes: [{ name: 'default', match: { prefix: '/' }, route }] }] }],
    clusters: [{ name: CLUSTER, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: CLUSTER }, connect_timeout: '1s', lb_policy: 'ROUND_ROBIN' }],
    endpoints: [
      {
        cluster_name: CLUSTER,
        endpoints: [
          {
            locality: { region: 'local', zone: 'a' },
            load_balancing_weight: 1,
            lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, load_balancing_weight: 1 }],
          },
        ],
      },
    ],
  };
}

/** A StaticResourceSource (of the @meshlet/xds-client module `x`) holding the mesh in object form. */
export function staticSourceOf(x, objects) {
  const source = new x.StaticResourceSource();
  source.replaceFromObjects(x.ClusterLoadAssignmentResource, objects.endpoints);
  source.replaceFromObjects(x.ClusterResource, objects.clusters);
  source.replaceFromObjects(x.RouteConfigurationResource, objects.routes);
  source.replaceFromObjects(x.ListenerResource, objects.listeners);
  return source;
}

/** A grpc-js client constructor (of the grpc-js module `grpc`) for the backend's Buffer echo, /meshlet.bench.Echo/Echo (no .proto). */
export function echoClientOf(grpc) {
  const identity = (b) => b;
  return grpc.makeGenericClientConstructor(
    { Echo: { path: '/meshlet.bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    'Echo',
  );
}

/** Points @grpc/grpc-js-xds at the AdsServer on `adsPort` (its bootstrap, read when register() runs). */
export function useGrpcJsXdsBootstrap(adsPort) {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~grpc-bench.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' }, locality: {} },
  });
}

export function startBackend() {
  const child = fork(new URL('../harness/grpc-backend-child.mjs', import.meta.url), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`grpc backend exited (${code})`)));
    child.once('message', (m) => resolve({ port: m.port, close: () => child.disconnect() }));
  });
}

export const scenario = {
  name: 'grpc-overhead',
  title: 'gRPC overhead: plain grpc-js vs Meshlet createMeshChannel vs grpc-js-xds (unary)',
  async run({ full, log }) {
    const params = {
      inFlight: [1, 64],
      // Quick mode: 12 short pairs rather than 5 of 800 ms (same measuring time per side, 4.8 s against
      // 4 s). This VM's noise comes in swings of a second or more (other work on the 2 cores): with
      // short rounds the three rounds of a pair sit closer in time, and the median of 12 paired ratios
      // (4 per rotation of the side order) is steadier than the median of 5.
      pairs: full ? 10 : 12,
      runMs: full ? 5000 : 400,
      warmupMs: full ? 3000 : 700,
      // ...and at least this many calls per side and level: V8 is still compiling and deoptimizing the call
      // path for some 20,000 calls, more of it on Meshlet's longer path (bench/instructions.mjs: Meshlet's
      // client instructions per call 1.122 x plain after 5,000 warm calls, 1.027 after 20,000). A service pays
      // that once; a round measured inside it charges it to every call. Capped at 15 s per side.
      warmupCalls: 20_000,
      payloadBytes: 64,
      target: `xds:///${TARGET}`,
      istioRetry: process.argv.includes('--istio-retry'),
    };
    const grpc = await loadGrpcJs();
    const grpcXds = await loadGrpcJsXds();
    const { createMeshChannel } = await loadGrpc();
    const { Mesh } = await loadCore();
    const x = await loadXdsClient();
    const cp = await loadControlPlane();

    const backend = await startBackend();
    const mesh = greeterMesh(backend.port, { istioRetry: params.istioRetry });
    const objects = await toObjectForm(mesh);

    // Meshlet: a Mesh over a StaticResourceSource (the embedded-config mode).
    const meshlet = await Mesh.create({ source: staticSourceOf(x, objects), resolveTimeoutMs: 5000 });

    // grpc-js-xds: the same resources from an AdsServer on loopback.
    const ads = new cp.AdsServer();
    const nacks = [];
    ads.events.on('nack', (e) => nacks.push(`${e.typeUrl}: ${e.errorDetail?.message}`));
    const { port: adsPort } = await ads.listen(0);
    ads.setSnapshot(objects);
    useGrpcJsXdsBootstrap(adsPort);
    grpcXds.register();

    const Echo = echoClientOf(grpc);
    const insecure = grpc.credentials.createInsecure();
    // Own subchannel pool per client: plain and grpc-js-xds would otherwise share one connection.
    const own = { 'grpc.use_local_subchannel_pool': 1 };
    const channel = await createMeshChannel(params.target, { mesh: meshlet });
    const clients = {
      plain: new Echo(`127.0.0.1:${backend.port}`, insecure, own),
      meshlet: new Echo(params.target, insecure, { channelOverride: channel }),
      xds: new Echo(params.target, insecure, own),
    };
    const payload = Buffer.alloc(params.payloadBytes, 7);
    const send = Object.fromEntries(
      SIDES.map((side) => [side, () => new Promise((resolve, reject) => clients[side].Echo(payload, (err, res) => (err ? reject(err) : resolve(res))))]),
    );
    // Sanity: every side answers (grpc-js-xds resolves over ADS on its first call).
    for (const side of SIDES) {
      const r = await Promise.race([send[side](), new Promise((_, reject) => setTimeout(() => reject(new Error(`${side}: no answer in 10 s`)), 10_000))]);
      if (!Buffer.isBuffer(r) || r.length !== params.payloadBytes) throw new Error(`${side}: bad answer`);
    }

    // Profiling aid: `node --cpu-prof bench/scenarios/grpc-overhead.mjs --profile=meshlet,64,5 --out=/tmp/x.json`
    // drives one side only (side, calls in flight, seconds), so the profile holds that side alone.
    const profileArg = process.argv.find((a) => a.startsWith('--profile='));
    if (profileArg) {
      const [side, inFlight, seconds] = profileArg.slice(10).split(',');
      const r = await closedLoop({ send: send[side], inFlight: Number(inFlight), durationMs: Number(seconds) * 1000 });
      log(`  profile run: ${side} at ${inFlight} in flight: ${r.rps.toFixed(0)} rps p50 ${r.p50us.toFixed(0)}us`);
      for (const c of Object.values(clients)) c.close();
      backend.close();
      return { params: { ...params, profile: profileArg }, metrics: [metric(`${side} rps (profile run)`, 'calls/s', r.rps)] };
    }

    const metrics = [];
    const raw = {};
    for (const inFlight of params.inFlight) {
      // Client CPU per call (this process: the three clients, the load loop and an idle ADS server)
      // alongside throughput. On a machine other work also loads, throughput swings with the share
      // of the cores this process gets; CPU time per call mostly does not, and for a client-bound
      // run 1 / CPU per call is the throughput a quiet machine would show.
      const load = async (side, durationMs) => {
        const cpu0 = process.cpuUsage();
        const r = await closedLoop({ send: send[side], inFlight, durationMs });
        const cpu = process.cpuUsage(cpu0);
        return { ...r, cpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, r.requests) };
      };
      for (const side of SIDES) {
        await load(side, params.warmupMs);
        await closedLoop({ send: send[side], inFlight, durationMs: 15_000, maxRequests: params.warmupCalls });
      }
      const runs = [];
      for (let i = 0; i < params.pairs; i++) {
        const pair = {};
        for (let k = 0; k < SIDES.length; k++) {
          const side = SIDES[(i + k) % SIDES.length];
          pair[side] = await load(side, params.runMs);
        }
        runs.push(pair);
        log(
          `  ${inFlight} in flight, round ${i + 1}: ` +
            SIDES.map((s) => `${s} ${pair[s].rps.toFixed(0)} rps p50 ${pair[s].p50us.toFixed(0)}us cpu ${pair[s].cpuUsPerCall.toFixed(0)}us/call${pair[s].errors ? ` (${pair[s].errors} errors)` : ''}`).join(' | ') +
            `  meshlet/plain ${(pair.meshlet.rps / pair.plain.rps).toFixed(3)} xds/plain ${(pair.xds.rps / pair.plain.rps).toFixed(3)}`,
        );
      }
      const of = (fn) => summarize(runs.map(fn));
      const sides = Object.fromEntries(SIDES.map((s) => [s, { rps: of((r) => r[s].rps), p50us: of((r) => r[s].p50us), p99us: of((r) => r[s].p99us), errors: runs.reduce((a, r) => a + r[s].errors, 0) }]));
      raw[inFlight] = { runs, sides };
      metrics.push(metric(`${inFlight} in flight: plain rps`, 'calls/s', sides.plain.rps));
      metrics.push(metric(`${inFlight} in flight: meshlet rps`, 'calls/s', sides.meshlet.rps));
      metrics.push(metric(`${inFlight} in flight: grpc-js-xds rps`, 'calls/s', sides.xds.rps));
      metrics.push(metric(`${inFlight} in flight: meshlet / plain throughput`, 'ratio', of((r) => r.meshlet.rps / r.plain.rps), { op: '>=', value: 0.95 }));
      metrics.push(metric(`${inFlight} in flight: grpc-js-xds / plain throughput`, 'ratio', of((r) => r.xds.rps / r.plain.rps)));
      metrics.push(metric(`${inFlight} in flight: meshlet / grpc-js-xds throughput`, 'ratio', of((r) => r.meshlet.rps / r.xds.rps), { op: '>=', value: 1 }));
      metrics.push(metric(`${inFlight} in flight: client CPU per call: plain`, 'us', of((r) => r.plain.cpuUsPerCall)));
      metrics.push(metric(`${inFlight} in flight: client CPU per call: meshlet`, 'us', of((r) => r.meshlet.cpuUsPerCall)));
      metrics.push(metric(`${inFlight} in flight: client CPU per call: grpc-js-xds`, 'us', of((r) => r.xds.cpuUsPerCall)));
      metrics.push(metric(`${inFlight} in flight: plain / meshlet CPU per call (throughput ratio when CPU-bound)`, 'ratio', of((r) => r.plain.cpuUsPerCall / r.meshlet.cpuUsPerCall)));
      metrics.push(metric(`${inFlight} in flight: grpc-js-xds / meshlet CPU per call`, 'ratio', of((r) => r.xds.cpuUsPerCall / r.meshlet.cpuUsPerCall)));
      metrics.push(metric(`${inFlight} in flight: plain p50`, 'us', sides.plain.p50us));
      metrics.push(metric(`${inFlight} in flight: meshlet p50`, 'us', sides.meshlet.p50us));
      metrics.push(metric(`${inFlight} in flight: grpc-js-xds p50`, 'us', sides.xds.p50us));
      metrics.push(metric(`${inFlight} in flight: meshlet added p50 (vs plain, per round)`, 'us', of((r) => r.meshlet.p50us - r.plain.p50us)));
      metrics.push(metric(`${inFlight} in flight: grpc-js-xds added p50 (vs plain, per round)`, 'us', of((r) => r.xds.p50us - r.plain.p50us)));
    }
    metrics.push(metric('grpc-js-xds NACKs', 'count', nacks.length, { op: '<=', value: 0 }));

    for (const c of Object.values(clients)) c.close();
    meshlet.close();
    await ads.close();
    backend.close();
    return {
      params,
      metrics,
      notes: [
        'one grpc-js Server (generic Buffer echo, 64-byte payload) in a child process on 127.0.0.1; load and all three clients in this process, each with its own connection',
        'config: listener greeter.bench.local:50051 (api_listener HCM, RDS over ADS), route config and EDS cluster outbound|50051||greeter.bench.local, one endpoint; Meshlet reads it from a StaticResourceSource, grpc-js-xds from an AdsServer',
        'rounds rotate the order of the three sides; ratios and added p50 are per round, then median (p25..p75, min..max)',
        ...(nacks.length ? [`grpc-js-xds NACKs: ${nacks.join('; ')}`] : []),
      ],
      raw,
    };
  },
};

await main(import.meta.url, scenario);
