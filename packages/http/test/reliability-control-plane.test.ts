/**
 * Reliability: a MeshDispatcher keeps routing real HTTP requests to real loopback backends
 * on its last good config while the control plane is killed, hung, slow or sends garbage.
 * Each test prints one `RELIABILITY {json}` line (copied into RELIABILITY.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { XdsClient, CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '@meshlet/xds-client';
import type { AdsAckEvent, AdsServer } from '@meshlet/control-plane';
import { createMeshDispatcher, type MeshDispatcher } from '@meshlet/http';
import { startBackend, type Backend } from './helpers/backends.js';
import { FAST_XDS, bootstrapFor, figures, meshSnapshot, sleep, startAds, startLoad, waitFor } from './helpers/reliabilityMesh.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Setup {
  ads: { server: AdsServer; port: number };
  backends: Backend[];
  client: XdsClient;
  dispatcher: MeshDispatcher;
  nacks: AdsAckEvent[];
  failedAttempts: { at: number; retryInMs: number }[];
}

/** Both clusters (c0 -> b0, c1 -> b1) served, the route on `active`, as istiod would. */
function snap(backends: Backend[], active: 0 | 1, extra: { listenerRds?: string } = {}) {
  const other = active === 0 ? 1 : 0;
  return meshSnapshot({ cluster: `c${active}`, ports: [backends[active]!.port], others: [{ name: `c${other}`, ports: [backends[other]!.port] }], ...extra });
}

async function setup(passthrough: 'allow' | 'reject' = 'reject'): Promise<Setup> {
  const backends = await Promise.all([startBackend('b0'), startBackend('b1')]);
  const ads = await startAds();
  ads.server.setSnapshot(snap(backends, 0), { version: 'v1' });
  const nacks: AdsAckEvent[] = [];
  ads.server.events.on('nack', (e: AdsAckEvent) => nacks.push(e));
  const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([ads.port]) });
  const failedAttempts: { at: number; retryInMs: number }[] = [];
  client.on('disconnected', (e) => void (e.hadResponse ? undefined : failedAttempts.push({ at: Date.now(), retryInMs: e.retryInMs })));
  const dispatcher = await createMeshDispatcher({ source: client, passthrough });
  const s: Setup = { ads, backends, client, dispatcher, nacks, failedAttempts };
  cleanups.push(async () => {
    await s.dispatcher.destroy();
    await client.close();
    await s.ads.server.close();
    await Promise.all(backends.map((b) => b.close()));
  });
  // Warm: the target resolves and serves.
  const warm = startLoad(dispatcher, 1);
  await waitFor(() => warm.figures.succeeded > 0, 5000, 'first response');
  await warm.stop();
  return s;
}

describe('reliability: MeshDispatcher under control-plane faults', () => {
  it('control plane killed mid-stream and restarted on the same port: no request lost, reconnects back off, new config picked up', async () => {
    const s = await setup();
    const load = startLoad(s.dispatcher);
    await sleep(200);
    const killedAt = Date.now();
    await s.ads.server.close();
    await sleep(1200);
    const attempts = s.failedAttempts.filter((f) => f.at >= killedAt);
    const intervals = attempts.slice(1).map((f, i) => f.at - attempts[i]!.at);
    // Restart on the same port with a config that moves traffic to b1.
    s.ads = await startAds(s.ads.port);
    s.ads.server.setSnapshot(snap(s.backends, 1), { version: 'v2' });
    await waitFor(() => (load.figures.byBody['b1'] ?? 0) > 20, 5000, 'traffic on the restarted server config');
    const f = await load.stop();
    figures('dispatcher/killed-restarted', { sent: f.sent, succeeded: f.succeeded, failed: f.failed, by_backend: f.byBody, reconnect_attempts_1200ms: attempts.length, intervals_ms: intervals });
    expect(f.failed).toBe(0);
    expect(f.succeeded).toBe(f.sent);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThanOrEqual(6); // 40, 80, 160, 320, 400 ms: bounded
    // Growing: the scheduled delays double up to the cap. Wall-clock gaps also hold grpc-js's own
    // connect attempt, so each is checked only against the delay scheduled before it (1 ms slack).
    expect(attempts.map((f) => f.retryInMs)).toEqual([40, 80, 160, 320, 400, 400].slice(0, attempts.length));
    for (let i = 0; i < intervals.length; i++) expect(intervals[i]!).toBeGreaterThanOrEqual(attempts[i]!.retryInMs - 1);
  });

  it('control plane hung longer than the does-not-exist timer: cached config keeps serving; the held push lands on resume', async () => {
    const s = await setup();
    const load = startLoad(s.dispatcher);
    s.ads.server.pause();
    s.ads.server.setSnapshot(snap(s.backends, 1), { version: 'v2' });
    await sleep((FAST_XDS.doesNotExistTimeoutMs ?? 0) + 500);
    const duringHang = { ...load.figures, byBody: { ...load.figures.byBody } };
    expect(duringHang.byBody['b1']).toBeUndefined();
    s.ads.server.resume();
    await waitFor(() => (load.figures.byBody['b1'] ?? 0) > 20, 5000, 'held push applied');
    const f = await load.stop();
    figures('dispatcher/hung', { failures: f.failures, hung_ms: (FAST_XDS.doesNotExistTimeoutMs ?? 0) + 500, sent: f.sent, succeeded: f.succeeded, failed: f.failed, sent_during_hang: duringHang.sent, by_backend: f.byBody, reconnect_attempts: s.failedAttempts.length });
    expect(f.failed).toBe(0);
    expect(s.failedAttempts).toEqual([]);
  });

  it('slow control plane (each push held 300 ms): every push lands, no request fails', async () => {
    const s = await setup();
    const load = startLoad(s.dispatcher);
    for (let i = 0; i < 4; i++) {
      const b = (i + 1) % 2;
      s.ads.server.pause();
      s.ads.server.setSnapshot(snap(s.backends, b as 0 | 1), { version: `slow-${i}` });
      await sleep(300);
      s.ads.server.resume();
      const seen = load.figures.byBody[`b${b}`] ?? 0;
      await waitFor(() => (load.figures.byBody[`b${b}`] ?? 0) > seen + 10, 5000, `push ${i}`);
    }
    const f = await load.stop();
    figures('dispatcher/slow', { failures: f.failures, pushes: 4, hold_ms: 300, sent: f.sent, succeeded: f.succeeded, failed: f.failed, by_backend: f.byBody, nacks: s.nacks.length });
    expect(f.failed).toBe(0);
    expect(s.nacks).toEqual([]);
  });

  it('garbage: a malformed Any and an invalid cluster are NACKed precisely; traffic stays on the last good config', async () => {
    const s = await setup();
    const load = startLoad(s.dispatcher);
    // A cluster that fails validation (field path in the NACK).
    const good = snap(s.backends, 0).clusters!;
    s.ads.server.setResources(CLUSTER_TYPE_URL, { c0: { ...good[0], outlier_detection: { max_ejection_percent: { value: 150 } } }, c1: good[1] as Record<string, unknown> }, { version: 'bad-cds' });
    const cdsNack = await waitFor(() => s.nacks.find((n) => n.typeUrl === CLUSTER_TYPE_URL), 5000, 'CDS NACK');
    // A listener that is not a protobuf message.
    s.ads.server.setResources(LISTENER_TYPE_URL, { 'reviews.test:9080': { type_url: LISTENER_TYPE_URL, value: Buffer.from([0x0a, 0x40, 0x72]) } }, { version: 'bad-lds' });
    const ldsNack = await waitFor(() => s.nacks.find((n) => n.typeUrl === LISTENER_TYPE_URL), 5000, 'LDS NACK');
    await sleep(300);
    const f = await load.stop();
    figures('dispatcher/garbage', { sent: f.sent, succeeded: f.succeeded, failed: f.failed, by_backend: f.byBody, nack_cds: cdsNack.errorDetail?.message, nack_lds: ldsNack.errorDetail?.message });
    expect(cdsNack.errorDetail?.message).toBe('cluster "c0": outlier_detection.max_ejection_percent: must be at most 100 (percent)');
    expect(cdsNack.versionInfo).toBe('v1'); // SotW NACK names the version still in use
    expect(ldsNack.errorDetail?.message).toMatch(/^listener: malformed envoy\.config\.listener\.v3\.Listener: index out of range/);
    expect(f.failed).toBe(0);
    expect(Object.keys(f.byBody)).toEqual(['b0']);
    const dump = s.client.configDump().generic_xds_configs;
    expect(dump.find((x) => x.name === 'c0')).toMatchObject({ client_status: 'NACKED', version_info: 'v1' });
    expect(dump.find((x) => x.name === 'reviews.test:9080')).toMatchObject({ client_status: 'ACKED', version_info: 'v1' });
  });

  it('a listener whose RDS points at nothing: the old snapshot serves while the route is awaited; past the does-not-exist timer the target fails fast (A27)', async () => {
    const s = await setup();
    const load = startLoad(s.dispatcher);
    // Valid on its own (so ACKed), but it names a route configuration the server does not have.
    const dangling = snap(s.backends, 0, { listenerRds: 'routes-that-do-not-exist' });
    s.ads.server.setResources(LISTENER_TYPE_URL, { 'reviews.test:9080': dangling.listeners![0] as Record<string, unknown> }, { version: 'dangling-rds' });
    const half = (FAST_XDS.doesNotExistTimeoutMs ?? 0) / 2;
    await sleep(half);
    const within = { ...load.figures };
    expect(within.failed).toBe(0);
    // Past the timer the route config does not exist: the target is no longer in the mesh;
    // with passthrough 'reject' requests fail at once with a clear error (no hang).
    await waitFor(() => load.figures.failed > 0, 5000, 'does-not-exist verdict');
    const before = load.figures.failed;
    await sleep(200);
    const t0 = Date.now();
    const failFast = await s.dispatcher.request({ origin: 'http://reviews.test:9080', path: '/', method: 'GET' }).then(
      () => 'succeeded',
      (e: Error) => e.message,
    );
    const failMs = Date.now() - t0;
    const f = await load.stop();
    figures('dispatcher/dangling-rds', { dne_timeout_ms: FAST_XDS.doesNotExistTimeoutMs, sent_before_verdict: within.sent, failed_before_verdict: within.failed, failed_fast_after: f.failed - before + 1, fail_ms: failMs, error: failFast });
    expect(failFast).toMatch(/not in the mesh.*route configuration "routes-that-do-not-exist" for listener "reviews.test:9080" does not exist/);
    // At once: no wait for a resolution that cannot come (a hang would last the DNE timer, 1.5 s,
    // or more); the bound is loose so a loaded CI machine's pauses do not fail it.
    expect(failMs).toBeLessThan(FAST_XDS.doesNotExistTimeoutMs! / 3);
    // Fixing the listener brings the target back.
    s.ads.server.setSnapshot(snap(s.backends, 1), { version: 'fixed' });
    const again = startLoad(s.dispatcher, 1);
    await waitFor(() => (again.figures.byBody['b1'] ?? 0) > 0, 5000, 'recovery');
    await again.stop();
  });
});
