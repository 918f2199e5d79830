// Scenario 2: config scale. A control plane in a child process (harness/ads-scale-child.mjs)
// holds N clusters + N ClusterLoadAssignments x 10 endpoints + a route table of N routes.
// This process (node --expose-gc) starts an XdsClient (delta ADS) + Mesh and measures:
//  - time to a usable snapshot: from creating the client to a request target resolved, the
//    last route matched and an endpoint picked from its cluster;
//  - heap (and RSS) growth after global.gc(), the modules being loaded beforehand;
//  - time to the control plane seeing the EDS ACK for all N clusters;
//  - then one endpoint changed via delta xDS: time until picks see it.
import { fork } from 'node:child_process';
import { loadCore, loadXdsClient } from '../harness/pkgs.mjs';
import { main, metric } from '../harness/scenario.mjs';
import { summarize } from '../harness/stats.mjs';

const MB = 2 ** 20;
const now = () => performance.timeOrigin + performance.now();
const gcFull = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
};

export const scenario = {
  name: 'config-scale',
  title: 'Config scale: one ADS push of N clusters + N CLAs x 10 endpoints + N routes',
  async run({ full, log }) {
    if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
    const N = full ? 10_000 : 1_000;
    const changes = full ? 20 : 10;
    const x = await loadXdsClient();
    const core = await loadCore();
    await core.initHashing();
    // Load the decoders (and the proto root) before the baseline heap reading.
    x.envoyRoot();

    const child = fork(new URL('../harness/ads-scale-child.mjs', import.meta.url), [String(N), '10'], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const acks = [];
    const nacks = [];
    const waiters = [];
    child.on('message', (m) => {
      if (m.ack) acks.push(m.ack);
      if (m.nack) nacks.push(m.nack);
      for (const w of [...waiters]) w(m);
    });
    const next = (pred) => new Promise((resolve) => waiters.push(function w(m) {
      if (!pred(m)) return;
      waiters.splice(waiters.indexOf(w), 1);
      resolve(m);
    }));
    const ready = await next((m) => m.ready);
    log(`  control plane: ${N} clusters, ${N * 10} endpoints, ${N} routes built in ${ready.buildMs.toFixed(0)} ms`);

    await gcFull();
    const before = process.memoryUsage();
    const t0 = now();
    const client = new x.XdsClient({
      bootstrap: {
        xds_servers: [{ server_uri: `127.0.0.1:${ready.port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'sidecar~127.0.0.1~scale.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' } },
      },
      delta: true,
      channelOptions: { 'grpc.max_receive_message_length': -1 },
      logger: x.silentLogger,
    });
    const mesh = await core.Mesh.create({ source: client, resolveTimeoutMs: 120_000 });
    const target = 'scale.bench.svc.cluster.local:80';
    const state = await mesh.resolve(target);
    if (state.kind !== 'ready') throw new Error(`target not ready: ${state.kind} ${state.reason ?? ''}`);
    const view = { authority: target, path: `/svc${N - 1}/x`, method: 'GET', headers: { get: () => undefined }, isGrpc: false };
    const m = state.snapshot.routeTable.match(view);
    const picked = m?.route.clusterPicker?.pick(Math.random(), view.headers);
    const host = picked && state.snapshot.cluster(picked.name)?.pick({ random: Math.random });
    if (!host) throw new Error('no route / cluster / host for the last route');
    const tUsable = now();
    const usableMs = tUsable - t0;
    log(`  usable snapshot after ${usableMs.toFixed(0)} ms (last route -> ${picked.name} -> ${host.address}:${host.port})`);
    // Wait (bounded) for the EDS ACK that covers all N clusters.
    const edsAll = () => acks.find((a) => a.typeUrl === x.CLUSTER_LOAD_ASSIGNMENT_TYPE_URL && a.subscribed >= N);
    for (let i = 0; i < 600 && !edsAll(); i++) await new Promise((r) => setTimeout(r, 50));
    const edsAckMs = edsAll() ? edsAll().at - t0 : NaN;
    await gcFull();
    const after = process.memoryUsage();
    const heapMB = (after.heapUsed - before.heapUsed) / MB;
    const rssMB = (after.rss - before.rss) / MB;
    log(`  heap growth ${heapMB.toFixed(1)} MB, rss growth ${rssMB.toFixed(1)} MB, EDS ACK at ${edsAckMs.toFixed(0)} ms`);

    // One-endpoint changes via delta xDS: poll picks until the new port shows up.
    const latencies = [];
    const afterSend = [];
    for (let c = 0; c < changes; c++) {
      const index = Math.floor(Math.random() * N);
      const cluster = mesh.state(target).snapshot.cluster(`outbound|80||svc${index}.bench.svc.cluster.local`);
      const changed = next((msg) => msg.changed);
      child.send({ cmd: 'change-endpoint', index });
      const { changed: info } = await changed;
      let seenAt;
      const deadline = now() + 5000;
      const ctx = { random: Math.random };
      while (now() < deadline) {
        // Picks are round robin over 10 hosts: 10 consecutive picks cover them all.
        let seen = false;
        for (let k = 0; k < 10; k++) if (cluster.pick(ctx)?.port === info.port) seen = true;
        if (seen) {
          seenAt = now();
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      if (seenAt === undefined) throw new Error(`endpoint change ${c} not seen within 5 s`);
      latencies.push(seenAt - info.before);
      afterSend.push(seenAt - info.after);
      await new Promise((r) => setTimeout(r, 20));
    }
    mesh.close();
    client.close();
    child.disconnect();
    const scaleNote = full ? '' : ' (quick: 1/10 scale)';
    return {
      params: { clusters: N, endpointsPerCluster: 10, routes: N, changes, transport: 'delta ADS over gRPC, loopback' },
      metrics: [
        metric(`time to usable snapshot, ${N} clusters${scaleNote}`, 'ms', usableMs, { op: '<=', value: full ? 1000 : 100 }, full ? undefined : 'quick target scaled to 1/10'),
        metric(`time to EDS ACK (all ${N})`, 'ms', edsAckMs),
        metric(`heap growth${scaleNote}`, 'MB', heapMB, { op: '<=', value: full ? 150 : 15 }, full ? undefined : 'quick target scaled to 1/10'),
        metric(`rss growth${scaleNote}`, 'MB', rssMB),
        metric('one-endpoint change: control plane setResources -> picks see it', 'ms', summarize(latencies)),
        metric('one-endpoint change: delta response sent -> picks see it', 'ms', summarize(afterSend), { op: '<=', value: 5 }),
        metric('NACKs', 'count', nacks.length, { op: '<=', value: 0 }),
      ],
      notes: [
        `control plane in a child process; its setResources replaces all ${N} CLAs (re-hashing each for delta versions) before it sends the one changed resource, so the first change figure includes that control-plane work.`,
        'grpc-js-xds comparison (time to ACK of the same push): TODO, not done in this round — its xds_cluster_manager would build a child LB policy per routed cluster and round_robin would start connecting to all 10 x N endpoints, so it needs unroutable-endpoint handling and a separate child; see BENCHMARKS.md.',
      ],
      raw: { acks: acks.map((a) => ({ ...a, at: a.at - t0 })), nacks, latencies, afterSend, before, after },
    };
  },
};

await main(import.meta.url, scenario);
