// Scenario 2: config scale. A control plane in a child process (harness/ads-scale-child.mjs)
// holds N clusters + N ClusterLoadAssignments x 10 endpoints + a route table of N routes.
// This process (node --expose-gc) starts an XdsClient (delta ADS) + Mesh and measures:
//  - time to a usable snapshot: from creating the client to a request target resolved, the
//    last route matched and an endpoint picked from its cluster;
//  - heap (and RSS) growth after global.gc(), the modules being loaded beforehand;
//  - time to the control plane seeing the EDS ACK for all N clusters;
//  - then one endpoint changed via delta xDS: time until picks see it;
//  - then the same push to an unmodified @grpc/grpc-js-xds client in its own process
//    (harness/grpc-js-xds-scale-child.mjs) against a fresh control plane: its time to the
//    last EDS ACK. Skip it with --no-grpc-js-xds.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadCore, loadXdsClient } from '../harness/pkgs.mjs';
import { main, metric } from '../harness/scenario.mjs';
import { summarize } from '../harness/stats.mjs';

const MB = 2 ** 20;
/**
 * This thread's CPU time in ms (Linux schedstat), or NaN elsewhere. Unlike process.cpuUsage it
 * leaves out V8's GC helper and concurrent compiler threads (about 40% of the process's CPU to the
 * usable snapshot), whose share swings with the other work on a shared machine.
 */
const mainThreadCpuMs = () => {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
};
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

    // BENCH_CHILD_EXEC_ARGV (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") profiles the control plane,
    // which NODE_OPTIONS cannot do (node refuses --cpu-prof there).
    const childExecArgv = (process.env.BENCH_CHILD_EXEC_ARGV ?? '').split(' ').filter(Boolean);
    const child = fork(new URL('../harness/ads-scale-child.mjs', import.meta.url), [String(N), '10'], { execArgv: childExecArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
    const cpu0 = process.cpuUsage();
    const mainCpu0 = mainThreadCpuMs();
    const t0 = now();
    const hr0 = process.hrtime.bigint();
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
    // This process's CPU (user + system, all threads) up to the usable snapshot: on a shared,
    // loaded machine the wall clock includes waiting for a core; this does not.
    const cpu = process.cpuUsage(cpu0);
    const usableCpuMs = (cpu.user + cpu.system) / 1000;
    const usableMainCpuMs = mainThreadCpuMs() - mainCpu0;
    log(`  usable snapshot after ${usableMs.toFixed(0)} ms, ${usableCpuMs.toFixed(0)} ms CPU, ${usableMainCpuMs.toFixed(0)} ms on the main thread (last route -> ${picked.name} -> ${host.address}:${host.port})`);
    // Profiled: the window up to the usable snapshot, in the profile's clock, for topFrames.mjs.
    if (process.execArgv.some((a) => a.startsWith('--cpu-prof'))) {
      log(`  profile window: --from=${hr0 / 1000n} --to=${process.hrtime.bigint() / 1000n}`);
    }
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
    const sentToDelivered = [];
    const deliveredToSeen = [];
    let seenAtFirstPoll = 0;
    for (let c = 0; c < changes; c++) {
      const index = Math.floor(Math.random() * N);
      const clusterName = `outbound|80||svc${index}.bench.svc.cluster.local`;
      const cluster = mesh.state(target).snapshot.cluster(clusterName);
      // A second watcher on the same CLA timestamps when the XdsClient delivers each version,
      // which splits the figure into transport + decode and the pick path after it.
      const deliveries = [];
      const watch = client.watch(x.ClusterLoadAssignmentResource, clusterName, {
        onResource: (cla) => deliveries.push({ at: now(), ports: cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.address.port_value)) }),
      });
      const changed = next((msg) => msg.changed);
      child.send({ cmd: 'change-endpoint', index });
      const { changed: info } = await changed;
      let seenAt;
      let polls = 0;
      const deadline = now() + 5000;
      const ctx = { random: Math.random };
      while (now() < deadline) {
        // Picks are round robin over 10 hosts: 10 consecutive picks cover them all.
        let seen = false;
        for (let k = 0; k < 10; k++) if (cluster.pick(ctx)?.port === info.port) seen = true;
        polls++;
        if (seen) {
          seenAt = now();
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      if (seenAt === undefined) throw new Error(`endpoint change ${c} not seen within 5 s`);
      latencies.push(seenAt - info.before);
      afterSend.push(seenAt - info.after);
      const delivered = deliveries.find((d) => d.ports.includes(info.port));
      watch.dispose();
      // Seen at the first poll: the client had applied it before this process read the child's
      // "changed" message, so the figure above is bounded by that IPC hop, not by the picks.
      if (polls === 1) seenAtFirstPoll++;
      if (delivered) {
        sentToDelivered.push(delivered.at - info.after);
        deliveredToSeen.push(seenAt - delivered.at);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    mesh.close();
    client.close();
    child.disconnect();

    const xds = process.argv.includes('--no-grpc-js-xds') ? undefined : await grpcJsXdsTimeToAck(N, x, log);
    const scaleNote = full ? '' : ' (quick: 1/10 scale)';
    return {
      params: { clusters: N, endpointsPerCluster: 10, routes: N, changes, transport: 'delta ADS over gRPC, loopback' },
      metrics: [
        metric(`time to usable snapshot, ${N} clusters${scaleNote}`, 'ms', usableMs, { op: '<=', value: full ? 1000 : 100 }, full ? undefined : 'quick target scaled to 1/10'),
        metric(`CPU time of this process to usable snapshot (user + system)${scaleNote}`, 'ms', usableCpuMs),
        metric(`CPU time of the main thread to usable snapshot (Linux schedstat; no GC helper threads)${scaleNote}`, 'ms', usableMainCpuMs),
        metric(`time to EDS ACK (all ${N})`, 'ms', edsAckMs),
        metric(`heap growth${scaleNote}`, 'MB', heapMB, { op: '<=', value: full ? 150 : 15 }, full ? undefined : 'quick target scaled to 1/10'),
        metric(`rss growth${scaleNote}`, 'MB', rssMB),
        metric('one-endpoint change: control plane upsertResources -> picks see it', 'ms', summarize(latencies)),
        metric('one-endpoint change: delta response sent -> picks see it', 'ms', summarize(afterSend), { op: '<=', value: 5 }),
        metric('one-endpoint change: delta response sent -> XdsClient delivered it (transport, scheduling, decode)', 'ms', summarize(sentToDelivered)),
        metric('one-endpoint change: XdsClient delivered it -> picks see it (poll starts on the IPC message)', 'ms', summarize(deliveredToSeen)),
        metric('one-endpoint changes already visible at the first poll', 'count', seenAtFirstPoll),
        metric('NACKs', 'count', nacks.length, { op: '<=', value: 0 }),
        ...(xds
          ? [
              metric(`grpc-js-xds: time to last EDS ACK (all ${N}), own process`, 'ms', xds.lastEdsAckMs),
              metric('grpc-js-xds: EDS ACKs sent', 'count', xds.edsAcks),
              metric('grpc-js-xds: NACKs', 'count', xds.nacks.length),
              metric('Meshlet EDS ACK / grpc-js-xds last EDS ACK', 'ratio', edsAckMs / xds.lastEdsAckMs, { op: '<=', value: 1 }),
            ]
          : []),
      ],
      notes: [
        process.env.BENCH_CHANGE_WITH_SET_RESOURCES === '1'
          ? `control plane in a child process; BENCH_CHANGE_WITH_SET_RESOURCES=1: each change is a setResources of all ${N} CLAs (re-hashing each, walking every subscription), as before upsertResources.`
          : `control plane in a child process; each change is one upsertResources of the changed CLA (encoded and hashed alone, sent to the one delta stream without walking the other ${N - 1}), so the first change figure includes only that control-plane work.`,
        xds
          ? `grpc-js-xds ${xds.version}: SotW ADS (it has no delta), own process and own control plane; clock from just before its channel is made to the last EDS ACK (its subscription grows as its cds children start, so each ACK covers the names of its response; the last one, after ${xds.quietMs} ms with no further EDS ACK, covers all ${N}). Endpoints are 127.x.y.z on a closed port: its round_robin children connect to every endpoint and are refused at once.${xds.timedOut ? ' TIMED OUT before all EDS names were ACKed.' : ''}`
          : 'grpc-js-xds comparison skipped (--no-grpc-js-xds).',
      ],
      raw: { acks: acks.map((a) => ({ ...a, at: a.at - t0 })), nacks, latencies, afterSend, sentToDelivered, deliveredToSeen, before, after, grpcJsXds: xds },
    };
  },
};

/**
 * Serves the same push from a fresh control plane to an unmodified grpc-js-xds client in its own
 * process, and reads from the control plane's ACK events when that client has ACKed EDS for all
 * N clusters. Returns the time from its channel's creation to its last EDS ACK.
 */
async function grpcJsXdsTimeToAck(N, x, log) {
  const quietMs = 2000;
  const limitMs = N >= 10_000 ? 300_000 : 60_000;
  const cp = fork(new URL('../harness/ads-scale-child.mjs', import.meta.url), [String(N), '10'], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const edsAcks = [];
  const nacks = [];
  const ready = await new Promise((resolve) =>
    cp.on('message', (m) => {
      if (m.ready) resolve(m);
      if (m.ack?.typeUrl === x.CLUSTER_LOAD_ASSIGNMENT_TYPE_URL) edsAcks.push(m.ack);
      if (m.nack) nacks.push(m.nack);
    }),
  );
  const client = fork(new URL('../harness/grpc-js-xds-scale-child.mjs', import.meta.url), [String(ready.port), 'scale.bench.svc.cluster.local:80'], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const { started } = await new Promise((resolve) => client.on('message', (m) => m.started && resolve(m)));
  const { createRequire } = await import('node:module');
  const version = createRequire(new URL('../../packages/control-plane/package.json', import.meta.url))('@grpc/grpc-js-xds/package.json').version;
  let timedOut = false;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const all = edsAcks.filter((a) => a.subscribed >= N);
    const last = edsAcks.at(-1);
    if (all.length > 0 && last && performance.timeOrigin + performance.now() - last.at >= quietMs) break;
    if (performance.timeOrigin + performance.now() - started > limitMs) {
      timedOut = true;
      break;
    }
  }
  const lastEdsAckMs = edsAcks.length ? edsAcks.at(-1).at - started : NaN;
  log(`  grpc-js-xds ${version}: last EDS ACK after ${lastEdsAckMs.toFixed(0)} ms (${edsAcks.length} EDS ACKs, ${nacks.length} NACKs)${timedOut ? ' TIMED OUT' : ''}`);
  client.disconnect();
  cp.disconnect();
  return { version, lastEdsAckMs: timedOut ? NaN : lastEdsAckMs, edsAcks: edsAcks.length, nacks, quietMs, timedOut, acks: edsAcks.map((a) => ({ subscribed: a.subscribed, at: a.at - started })) };
}

await main(import.meta.url, scenario);
