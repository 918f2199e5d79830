import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Mesh, type CallSummary } from '@meshlet/core';
import { StaticResourceSource } from '@meshlet/xds-client';
import { createMeshChannel, meshClientOptions, meshInterceptor, type MeshChannel } from '@meshlet/grpc';
import { deadPort, failWith, startBackend, type GrpcBackend } from './helpers/backends.js';
import { EchoClientConstructor, chat, countAnswers, unary, type EchoClient } from './helpers/echoService.js';
import { applyMesh, type MeshSpec } from '../../http/test/helpers/meshConfig.js';

const TARGET = 'echo.test:50051';
const ALL = 100;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Setup {
  backends: GrpcBackend[];
  source: StaticResourceSource;
  mesh: Mesh;
  client: EchoClient;
  channel: MeshChannel;
  summaries: CallSummary[];
}

async function setup(n: number, spec: (ports: number[]) => Omit<MeshSpec, 'target'>, clientOptions: grpc.ClientOptions = {}): Promise<Setup> {
  const backends = await Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`)));
  const source = new StaticResourceSource();
  applyMesh(source, { target: TARGET, ...spec(backends.map((b) => b.port)) });
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
  const summaries: CallSummary[] = [];
  const options = meshClientOptions(mesh, `xds:///${TARGET}`, { observer: { onCallEnd: (s) => summaries.push(s) }, clientOptions });
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), options);
  cleanups.push(async () => {
    client.close();
    mesh.close();
    await Promise.all(backends.map((b) => b.close()));
  });
  return { backends, source, mesh, client, channel: options.channelOverride, summaries };
}

const oneCluster = (ports: number[]) => ({ clusters: [{ name: 'c0', ports }] });

describe('MeshChannel over real grpc-js servers', () => {
  it('sends unary calls round robin across the endpoints of the cluster, with the target as authority', async () => {
    const { backends, client, channel } = await setup(2, oneCluster);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const r = await unary(client);
      expect(r.ok).toBe(true);
      counts[r.body!] = (counts[r.body!] ?? 0) + 1;
    }
    // ROUND_ROBIN alternates, so 20 sequential calls split exactly.
    expect(counts).toEqual({ b0: 10, b1: 10 });
    expect(backends[0]!.seen[0]!.method).toBe('/meshlet.test.Echo/Echo');
    expect(backends[0]!.seen[0]!.host).toBe(TARGET);
    // No attempt-count metadata unless the virtual host asks for it.
    expect(backends[0]!.seen[0]!.metadata.get('x-envoy-attempt-count')).toEqual([]);
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.READY);
    expect(channel.endpoints.keys().sort()).toEqual(backends.map((b) => `127.0.0.1:${b.port}`).sort());
  });

  it('splits calls across weighted_clusters 80/20 (600 calls, ±7%)', async () => {
    const { client } = await setup(2, ([a, b]) => ({
      clusters: [{ name: 'v1', ports: [a!] }, { name: 'v2', ports: [b!] }],
      routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }] } } }],
    }));
    const counts = await countAnswers(600, () => unary(client));
    // Binomial(600, 0.2): the share's standard deviation is 0.016; ±0.07 is over 4 sigma.
    expect((counts.b0 ?? 0) + (counts.b1 ?? 0)).toBe(600);
    expect((counts.b1 ?? 0) / 600).toBeGreaterThan(0.13);
    expect((counts.b1 ?? 0) / 600).toBeLessThan(0.27);
  });

  it('matches routes on the method path and on metadata; no match is UNAVAILABLE with NR (gRFC A28)', async () => {
    const { client } = await setup(3, (ports) => ({
      clusters: ports.map((p, i) => ({ name: `c${i}`, ports: [p] })),
      routes: [
        { match: { path: '/meshlet.test.Echo/Other' }, route: { cluster: 'c2' } },
        { match: { prefix: '/meshlet.test.Echo/', headers: [{ name: 'x-canary', exact_match: 'yes' }] }, route: { cluster: 'c1' } },
        { match: { prefix: '/meshlet.test.Echo/Echo', headers: [{ name: 'x-tenant', present_match: true }] }, route: { cluster: 'c0' } },
      ],
    }));
    expect((await unary(client, { method: 'Other' })).body).toBe('b2');
    expect((await unary(client, { metadata: { 'x-canary': 'yes' } })).body).toBe('b1');
    expect((await unary(client, { metadata: { 'x-tenant': 't1' } })).body).toBe('b0');
    const nr = await unary(client);
    expect(nr.code).toBe(grpc.status.UNAVAILABLE);
    expect(nr.details).toContain(TARGET);
    expect(nr.details).toContain('(NR)');

    // The engine settles a call it answers itself while the call starts; the caller's callback still
    // runs after client.Echo() has returned the call object, as for any grpc-js call.
    let returned = false;
    const calledBack = await new Promise<boolean>((resolve) => {
      client.Echo(Buffer.from('x'), new grpc.Metadata(), {}, () => resolve(returned));
      returned = true;
    });
    expect(calledBack).toBe(true);
  });

  it('retries UNAVAILABLE with retry_on unavailable, counting attempts in metadata', async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      virtualHost: { include_request_attempt_count: true },
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 3, retry_back_off: { base_interval: '0.001s' } } } }],
    }));
    let failuresLeft = 2;
    backends[0]!.behave((_call, callback, name) => {
      if (failuresLeft-- > 0) callback({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
      else callback(null, Buffer.from(name));
    });
    const r = await unary(client);
    expect(r).toMatchObject({ ok: true, body: 'b0' });
    const seen = backends[0]!.seen;
    expect(seen.map((s) => s.metadata.get('x-envoy-attempt-count')[0])).toEqual(['1', '2', '3']);
    expect(seen.map((s) => s.metadata.get('grpc-previous-rpc-attempts')[0])).toEqual([undefined, '1', '2']);

    // A status the policy does not name is not retried and reaches the caller as is.
    backends[0]!.behave(failWith(grpc.status.INTERNAL, 'boom'));
    const before = seen.length;
    const internal = await unary(client);
    expect(internal).toMatchObject({ ok: false, code: grpc.status.INTERNAL, details: 'boom' });
    expect(seen.length - before).toBe(1);
  });

  it('reports an endpoint nothing listens on as UNAVAILABLE (UF), and retries it on another host', async () => {
    const dead = await deadPort();
    const { client, source, backends } = await setup(1, (ports) => ({ clusters: [{ name: 'c0', ports: [dead] }] }));
    const uf = await unary(client);
    expect(uf.code).toBe(grpc.status.UNAVAILABLE);
    expect(uf.details).toContain('(UF)');
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c0', ports: [dead, backends[0]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 2, retry_back_off: { base_interval: '0.001s' } } } }],
    });
    // Round robin sends every other first attempt to the dead port; the retry takes the live one.
    await expect.poll(async () => (await unary(client)).ok).toBe(true);
    expect(await countAnswers(10, () => unary(client), 1)).toEqual({ b0: 10 });
  });

  it('does not retry a call whose request outgrew the retry buffer, even one that failed before any response (gRFC A44: the call is committed)', async () => {
    const dead = await deadPort();
    const source = new StaticResourceSource();
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c0', ports: [dead] }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 2, retry_back_off: { base_interval: '0.001s' } } } }],
    });
    const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
    const summaries: CallSummary[] = [];
    const options = meshClientOptions(mesh, `xds:///${TARGET}`, { observer: { onCallEnd: (s) => summaries.push(s) }, retryBufferBytes: 16 });
    const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), options);
    cleanups.push(() => {
      client.close();
      mesh.close();
    });

    // A request within the buffer is retried (this first call also waits for the target's config).
    const small = await unary(client, { body: 'hi' });
    expect(small.code).toBe(grpc.status.UNAVAILABLE);
    await expect.poll(() => summaries.length).toBe(1);
    expect(summaries[0]!.attempts).toHaveLength(3);

    // Routed at once (config known): the call starts replayable, then its message overflows the buffer.
    const big = await unary(client, { body: 'x'.repeat(64) });
    expect(big.code).toBe(grpc.status.UNAVAILABLE);
    expect(big.details).toContain('(UF)');
    await expect.poll(() => summaries.length).toBe(2);
    expect(summaries[1]!.attempts).toHaveLength(1);
    expect(String(summaries[1]!.error)).toContain('not retried: request body is not replayable');
  });

  it('does not retry without a retry policy: the UNAVAILABLE status reaches the caller', async () => {
    const { backends, client } = await setup(1, oneCluster);
    backends[0]!.behave(failWith(grpc.status.UNAVAILABLE, 'down'));
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE, details: 'down' });
    expect(backends[0]!.seen).toHaveLength(1);
  });

  it('fails with DEADLINE_EXCEEDED when max_stream_duration runs out (gRFC A31), and honours the caller deadline', async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      routes: [
        { match: { path: '/meshlet.test.Echo/Other' }, route: { cluster: 'c0' } },
        { match: { prefix: '/' }, route: { cluster: 'c0', max_stream_duration: { max_stream_duration: '0.1s' } } },
      ],
    }));
    const held: Array<grpc.sendUnaryData<Buffer>> = [];
    backends[0]!.behave((_call, callback) => held.push(callback));
    cleanups.push(() => held.forEach((cb) => cb(null, Buffer.from('late'))));
    const routeBound = await unary(client);
    expect(routeBound.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(routeBound.details).toContain('UT');
    // No stream duration on this route: the caller's own deadline ends the call.
    const callerBound = await unary(client, { method: 'Other', deadline: Date.now() + 100 });
    expect(callerBound.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The upstream call carried a deadline (grpc-timeout) in both cases.
    expect(backends[0]!.seen).toHaveLength(2);
  });

  it('injects fault aborts (grpc_status, http_status mapped per gRFC A33) without calling the backend', async () => {
    const spec = (abort: Record<string, unknown>) => (ports: number[]) => ({
      clusters: [{ name: 'c0', ports }],
      fault: { abort: { ...abort, percentage: { numerator: ALL, denominator: 'HUNDRED' } } },
    });
    const { backends, client, source } = await setup(1, spec({ grpc_status: grpc.status.PERMISSION_DENIED }));
    const denied = await unary(client);
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toContain('FI');
    applyMesh(source, { target: TARGET, ...spec({ http_status: 404 })(backends.map((b) => b.port)) });
    await expect.poll(async () => (await unary(client)).code).toBe(grpc.status.UNIMPLEMENTED);
    expect(backends[0]!.seen).toHaveLength(0);
  });

  it('injects fault delays: the call succeeds flagged DI, or times out if the delay outlasts max_stream_duration', async () => {
    const { client, summaries } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      fault: { delay: { fixed_delay: '0.02s', percentage: { numerator: ALL, denominator: 'HUNDRED' } } },
      routes: [
        { match: { path: '/meshlet.test.Echo/Other' }, route: { cluster: 'c0', max_stream_duration: { max_stream_duration: '0.01s' } } },
        { match: { prefix: '/' }, route: { cluster: 'c0' } },
      ],
    }));
    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });
    expect(summaries.at(-1)!.flags).toEqual(['DI']);
    const timedOut = await unary(client, { method: 'Other' });
    expect(timedOut.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(timedOut.details).toContain('UT,DI');
  });

  it('fails fast with UNAVAILABLE (UO) when max_requests is reached (gRFC A32)', async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports, cluster: { circuit_breakers: { thresholds: [{ max_requests: 1 }] } } }],
    }));
    const held: Array<grpc.sendUnaryData<Buffer>> = [];
    backends[0]!.behave((_call, callback) => held.push(callback));
    const first = unary(client);
    await expect.poll(() => held.length).toBe(1);
    const overflow = await unary(client);
    expect(overflow.code).toBe(grpc.status.UNAVAILABLE);
    expect(overflow.details).toContain('(UO)');
    held[0]!(null, Buffer.from('released'));
    expect(await first).toMatchObject({ ok: true, body: 'released' });
    backends[0]!.behave((_call, callback) => callback(null, Buffer.from('again')));
    expect(await unary(client)).toMatchObject({ ok: true, body: 'again' });
  });

  it('a server-streaming call holds its max_requests slot until the stream ends, not just until its headers (Envoy, gRFC A32)', async () => {
    const { backends, client, summaries } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports, cluster: { circuit_breakers: { thresholds: [{ max_requests: 1 }] } } }],
    }));
    let finish: (() => void) | undefined;
    backends[0]!.behaveStream((call, name) => {
      // Headers and a first message now; the rest of the stream when the test says.
      call.write(Buffer.from(`${name}:first`));
      finish = () => {
        call.write(Buffer.from(`${name}:last`));
        call.end();
      };
    });
    const stream = client.Stream(Buffer.from('long'));
    const got: string[] = [];
    const ended = new Promise<grpc.StatusObject>((resolve, reject) => {
      stream.on('data', (m: Buffer) => got.push(m.toString()));
      stream.on('status', resolve);
      stream.on('error', reject);
    });
    await expect.poll(() => got.length).toBe(1);
    expect(finish).toBeDefined();
    // The response head came back long ago; the call is still active, so the breaker is full.
    const overflow = await unary(client);
    expect(overflow.code).toBe(grpc.status.UNAVAILABLE);
    expect(overflow.details).toContain('(UO)');
    expect(summaries.map((s) => s.flags.join(','))).toEqual(['UO']);
    finish!();
    expect((await ended).code).toBe(grpc.status.OK);
    expect(got).toEqual(['b0:first', 'b0:last']);
    // Released at the end (no leak): the next call gets the slot; onCallEnd reported the stream at its end.
    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });
    expect(summaries.map((s) => s.status)).toEqual([503, 200, 200]);
  });

  it('ejects a host that keeps failing (outlier detection consecutive_5xx) and sends later calls to the healthy one', async () => {
    const { backends, client } = await setup(2, (ports) => ({
      clusters: [
        {
          name: 'c0',
          ports,
          cluster: { outlier_detection: { consecutive_5xx: 3, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 100 } },
        },
      ],
    }));
    backends[1]!.behave(failWith(grpc.status.UNAVAILABLE, 'sick'));
    const warmup = await countAnswers(10, () => unary(client), 1);
    // UNAVAILABLE maps to 503, so three in a row eject b1 at once (Envoy's consecutive_5xx).
    expect(warmup['!UNAVAILABLE']).toBe(3);
    const sickCalls = backends[1]!.seen.length;
    const after = await countAnswers(30, () => unary(client), 5);
    expect(after).toEqual({ b0: 30 });
    expect(backends[1]!.seen.length).toBe(sickCalls);
  });

  it('keeps calls with the same hashed metadata on one host under RING_HASH (gRFC A42)', async () => {
    const { client } = await setup(4, (ports) => ({
      clusters: [{ name: 'c0', ports, cluster: { lb_policy: 'RING_HASH' } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', hash_policy: [{ header: { header_name: 'x-user' } }] } }],
    }));
    const hostOf = new Map<string, string>();
    for (let u = 0; u < 20; u++) {
      const user = `user-${u}`;
      const answers = new Set<string>();
      for (let i = 0; i < 5; i++) answers.add((await unary(client, { metadata: { 'x-user': user } })).body!);
      expect(answers.size).toBe(1);
      hostOf.set(user, [...answers][0]!);
    }
    // 20 users on a 4-host ring: all on one host has probability ~4 * 0.25^20 ≈ 0.
    expect(new Set(hostOf.values()).size).toBeGreaterThan(1);
  });

  it('runs server-streaming calls through the mesh', async () => {
    const { client, backends } = await setup(1, oneCluster);
    const stream = client.Stream(Buffer.from('3'));
    const got: string[] = [];
    for await (const m of stream) got.push((m as Buffer).toString());
    expect(got).toEqual(['b0:0', 'b0:1', 'b0:2']);
    expect(backends[0]!.seen[0]!.method).toBe('/meshlet.test.Echo/Stream');
  });

  it('runs bidi-streaming calls through the mesh', async () => {
    const { client } = await setup(1, oneCluster);
    expect(await chat(client, ['a', 'b'])).toEqual(['b0:a', 'b0:b']);
  });

  it('replays the messages a bidi call sent so far when it retries before any response (gRFC A44)', async () => {
    const { client, backends } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } } }],
    }));
    backends[0]!.failChats(1);
    expect(await chat(client, ['a', 'b'])).toEqual(['b0:a', 'b0:b']);
    expect(backends[0]!.seen.map((s) => s.method)).toEqual(['/meshlet.test.Echo/Chat', '/meshlet.test.Echo/Chat']);
  });

  it('adds metadata with meshInterceptor, which route matching then sees', async () => {
    const { backends, client } = await setup(2, (ports) => ({
      clusters: ports.map((p, i) => ({ name: `c${i}`, ports: [p] })),
      routes: [
        { match: { prefix: '/', headers: [{ name: 'traceparent', present_match: true }] }, route: { cluster: 'c1' } },
        { match: { prefix: '/' }, route: { cluster: 'c0' } },
      ],
    }), { interceptors: [meshInterceptor({ metadata: () => ({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }) })] });
    expect((await unary(client)).body).toBe('b1');
    expect(backends[1]!.seen[0]!.metadata.get('traceparent')).toEqual(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);
  });

  it('closes the channel to an endpoint that leaves the cluster', async () => {
    const { backends, client, channel, source } = await setup(2, oneCluster);
    await countAnswers(4, () => unary(client), 1);
    expect(channel.endpoints.keys()).toHaveLength(2);
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c0', ports: [backends[0]!.port] }] });
    await expect.poll(async () => (await unary(client)).ok && channel.endpoints.keys().length).toBe(1);
    expect(channel.endpoints.keys()).toEqual([`127.0.0.1:${backends[0]!.port}`]);
  });

  it('fails calls to a target with no config with UNAVAILABLE; createMeshChannel waits for config', async () => {
    const source = new StaticResourceSource();
    const mesh = await Mesh.create({ source, resolveTimeoutMs: 50 });
    const channel = await createMeshChannel('xds:///nowhere.test:1', { mesh });
    const client = new EchoClientConstructor('xds:///nowhere.test:1', grpc.credentials.createInsecure(), { channelOverride: channel });
    cleanups.push(() => {
      client.close();
      mesh.close();
    });
    const r = await unary(client);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('nowhere.test:1');
  });
});
