// Scenario (gRPC overhead): the cost of Meshlet on the unary gRPC call path.
// One grpc-js Server (generic Buffer echo service, no .proto) in a child process on 127.0.0.1.
// Three clients, each with its own connection:
//  - plain:   grpc-js client to the fixed address 127.0.0.1:PORT (the physical limit);
//  - meshlet: createMeshChannel('xds:///greeter.bench.local:50051', { mesh }), Mesh over a
//             StaticResourceSource holding an istiod-shaped config (listener host:port with an
//             api_listener HCM over RDS, route config and EDS cluster outbound|PORT||HOST);
//  - xds:     @grpc/grpc-js-xds (register(), GRPC_XDS_BOOTSTRAP_CONFIG) against an AdsServer
//             from @meshlet/control-plane serving the same resources.
// Each client runs in a process of its own (bench/harness/client-child.mjs), as a service runs one
// client stack; --inline runs all three in this process instead (the mode of sessions 1 to 9, where
// the three stacks share grpc-js's code, its V8 feedback and this process's heap).
// Closed-loop unary load at 1 and 64 calls in flight. After a warm-up of each side, rounds run
// in a rotating order (pair i starts with side i mod 3), and each pair gives the ratios
// meshlet/plain, xds/plain and meshlet/xds: median with p25..p75 and min..max.
// Run: node --expose-gc bench/scenarios/grpc-overhead.mjs [--full] [--istio-retry] [--no-request-id] [--inline]
// --istio-retry: the route carries istiod's default retry policy (ISTIO_DEFAULT_RETRY_POLICY in
// bench/harness/grpcEcho.mjs).
// --no-request-id: the listener's HCM sets generate_request_id false, so Meshlet's calls carry no
// x-request-id, as plain grpc-js's and grpc-js-xds's never do (by default Meshlet adds one per call,
// as an Envoy sidecar does; each is a new HPACK entry for client and server).
import { inlineSide, processSide } from '../harness/clientSides.mjs';
import { toObjectForm } from '../harness/meshConfig.mjs';
import { loadControlPlane } from '../harness/pkgs.mjs';
import { main, metric } from '../harness/scenario.mjs';
import { summarize } from '../harness/stats.mjs';
import { ECHO_PAYLOAD_BYTES, ECHO_TARGET, firstEchoCall, greeterMesh, grpcEchoClient, startBackend } from '../harness/grpcEcho.mjs';

export { ISTIO_DEFAULT_RETRY_POLICY, echoClientOf, greeterMesh, startBackend, staticSourceOf, useGrpcJsXdsBootstrap } from '../harness/grpcEcho.mjs';

const SIDES = ['plain', 'meshlet', 'xds'];

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
      payloadBytes: ECHO_PAYLOAD_BYTES,
      target: ECHO_TARGET,
      istioRetry: process.argv.includes('--istio-retry'),
      generateRequestId: !process.argv.includes('--no-request-id'),
      inline: process.argv.includes('--inline'),
    };
    const cp = await loadControlPlane();
    const backend = await startBackend();
    const objects = await toObjectForm(greeterMesh(backend.port, { istioRetry: params.istioRetry, generateRequestId: params.generateRequestId }));

    // grpc-js-xds reads the config from an AdsServer on loopback; Meshlet from a StaticResourceSource
    // holding the same resources (the embedded-config mode).
    const ads = new cp.AdsServer();
    const nacks = [];
    ads.events.on('nack', (e) => nacks.push(`${e.typeUrl}: ${e.errorDetail?.message}`));
    const { port: adsPort } = await ads.listen(0);
    ads.setSnapshot(objects);

    // Profiling aid: `node --cpu-prof bench/scenarios/grpc-overhead.mjs --profile=meshlet,64,5 --out=/tmp/x.json`
    // drives one side only (side, calls in flight, seconds), in this process, so the profile holds that side alone.
    const profileArg = process.argv.find((a) => a.startsWith('--profile='));
    const settings = { grpcPort: backend.port, adsPort, istioRetry: params.istioRetry, generateRequestId: params.generateRequestId };
    const clients = {};
    for (const side of SIDES) {
      if (params.inline || profileArg) {
        const client = await grpcEchoClient(side, settings);
        await firstEchoCall(side, client.send);
        clients[side] = inlineSide(client);
      } else {
        clients[side] = await processSide('grpc', side, settings);
      }
    }
    const closeAll = async () => {
      for (const client of Object.values(clients)) client.close();
      await ads.close();
      backend.close();
    };

    if (profileArg) {
      const [side, inFlight, seconds] = profileArg.slice(10).split(',');
      const r = await clients[side].load(Number(inFlight), Number(seconds) * 1000);
      log(`  profile run: ${side} at ${inFlight} in flight: ${r.rps.toFixed(0)} rps p50 ${r.p50us.toFixed(0)}us`);
      await closeAll();
      return { params: { ...params, profile: profileArg }, metrics: [metric(`${side} rps (profile run)`, 'calls/s', r.rps)] };
    }

    const metrics = [];
    const raw = {};
    for (const inFlight of params.inFlight) {
      // Client CPU per call (the client's process: with --inline, this one, holding the three clients,
      // the load loop and an idle ADS server) alongside throughput. On a machine other work also loads,
      // throughput swings with the share of the cores the client gets; CPU time per call mostly does
      // not, and for a client-bound run 1 / CPU per call is the throughput a quiet machine would show.
      const load = (side, durationMs) => clients[side].load(inFlight, durationMs);
      for (const side of SIDES) {
        await load(side, params.warmupMs);
        await clients[side].load(inFlight, 15_000, params.warmupCalls);
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

    await closeAll();
    return {
      params,
      metrics,
      notes: [
        `one grpc-js Server (generic Buffer echo, 64-byte payload) in a child process on 127.0.0.1; ${params.inline ? 'load and all three clients in this process (--inline)' : 'each client and its load loop in a process of its own'}, each with its own connection`,
        'config: listener greeter.bench.local:50051 (api_listener HCM, RDS over ADS), route config and EDS cluster outbound|50051||greeter.bench.local, one endpoint; Meshlet reads it from a StaticResourceSource, grpc-js-xds from an AdsServer',
        'rounds rotate the order of the three sides; ratios and added p50 are per round, then median (p25..p75, min..max)',
        ...(nacks.length ? [`grpc-js-xds NACKs: ${nacks.join('; ')}`] : []),
      ],
      raw,
    };
  },
};

await main(import.meta.url, scenario);
