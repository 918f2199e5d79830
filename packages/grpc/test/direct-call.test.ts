import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { deadPort, failWith } from './helpers/backends.js';
import { chat, countAnswers, unary } from './helpers/echoService.js';
import { meshSetups } from './helpers/meshSetup.js';
import { applyMesh, type MeshSpec } from '../../http/test/helpers/meshConfig.js';

// Calls on a route with no retry policy, timeout, hash policy or fault filter, from a channel with no
// metrics or observer (and no OpenTelemetry SDK), run as the engine's DirectCall, and send their
// request messages straight to their one attempt. meshChannel.test.ts covers the same behaviours with
// an observer (CallEngine's full path); these run them on the direct path, over real grpc-js servers.

const TARGET = 'direct.test:50051';

const setup = meshSetups(TARGET);

/** The retry policy istiod puts on every route it generates (as bench/scenarios/grpc-overhead.mjs's ISTIO_DEFAULT_RETRY_POLICY). */
const ISTIO_DEFAULT_RETRY_POLICY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
  host_selection_retry_max_attempts: '5',
  retriable_status_codes: [503],
};

const withRetry = (ports: number[]): Omit<MeshSpec, 'target'> => ({
  clusters: [{ name: 'c0', ports }],
  routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 2, retry_back_off: { base_interval: '0.001s' } } } }],
});

describe('single-attempt gRPC calls (DirectCall)', () => {
  it('round-robin unary calls with an x-request-id; client-, server- and bidi-streaming messages reach their attempt in order', async () => {
    const { backends, client } = await setup(2, (ports) => ({ clusters: [{ name: 'c0', ports }] }));
    expect(await countAnswers(4, () => unary(client), 1)).toEqual({ b0: 2, b1: 2 });
    const ids = backends.flatMap((b) => b.seen.map((s) => s.metadata.get('x-request-id')[0]));
    expect(new Set(ids).size).toBe(4);
    const stream = client.Stream(Buffer.from('3'));
    const streamed: string[] = [];
    for await (const m of stream) streamed.push((m as Buffer).toString());
    expect(streamed).toHaveLength(3);
    expect((await chat(client, ['a', 'b', 'c', 'd'])).map((m) => m.split(':')[1])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a status is not retried and reaches the caller; an endpoint nothing listens on fails UF', async () => {
    const dead = await deadPort();
    const { backends, client, source } = await setup(1, (ports) => ({ clusters: [{ name: 'c0', ports }] }));
    backends[0]!.behave(failWith(grpc.status.UNAVAILABLE, 'down'));
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE, details: 'down' });
    expect(backends[0]!.seen).toHaveLength(1);
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c0', ports: [dead] }] });
    await expect.poll(async () => (await unary(client)).details).toContain('(UF)');
  });

  it('a config push that gives the route a retry policy retries new calls, and one that takes it away stops retrying', async () => {
    const { backends, client, source } = await setup(1, (ports) => ({ clusters: [{ name: 'c0', ports }] }));
    let failNext = true;
    backends[0]!.behave((_call, callback, name) => {
      // Every other call fails first: a retried call then succeeds on its second attempt.
      if (failNext) callback({ code: grpc.status.UNAVAILABLE, details: 'flaky' });
      else callback(null, Buffer.from(name));
      failNext = !failNext;
    });
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(await unary(client)).toMatchObject({ ok: true });
    applyMesh(source, { target: TARGET, ...withRetry([backends[0]!.port]) });
    const before = backends[0]!.seen.length;
    await expect.poll(async () => (await unary(client)).ok && backends[0]!.seen.length - before > 1).toBe(true);
    const seen = backends[0]!.seen.length;
    expect(await unary(client)).toMatchObject({ ok: true });
    expect(backends[0]!.seen.length - seen).toBe(2);
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c0', ports: [backends[0]!.port] }] });
    await expect.poll(async () => (await unary(client)).ok).toBe(false);
  });

  it('counts against max_requests until the response stream ends, and releases the slot on cancel and deadline', async () => {
    const { backends, client } = await setup(1, (ports) => ({
      clusters: [{ name: 'c0', ports, cluster: { circuit_breakers: { thresholds: [{ max_requests: 1 }] } } }],
    }));
    let finish: (() => void) | undefined;
    backends[0]!.behaveStream((call, name) => {
      call.write(Buffer.from(`${name}:first`));
      finish = () => call.end();
    });
    const stream = client.Stream(Buffer.from('long'));
    const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('data', () => {});
    stream.on('error', () => {});
    await expect.poll(() => finish !== undefined).toBe(true);
    expect((await unary(client)).details).toContain('(UO)');
    finish!();
    expect((await ended).code).toBe(grpc.status.OK);

    // A held unary call, cancelled by its caller: the slot is free again.
    const held: Array<grpc.sendUnaryData<Buffer>> = [];
    backends[0]!.behave((_call, callback) => held.push(callback));
    const cancelled = await new Promise<grpc.ServiceError>((resolve) => {
      const call = client.Echo(Buffer.from('x'), new grpc.Metadata(), {}, (err) => resolve(err!));
      void expect.poll(() => held.length).toBe(1).then(() => call.cancel());
    });
    expect(cancelled.code).toBe(grpc.status.CANCELLED);
    backends[0]!.behave((_call, callback, name) => callback(null, Buffer.from(name)));
    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });

    // The caller's deadline: DEADLINE_EXCEEDED, and the slot is free again.
    backends[0]!.behave(() => {});
    expect((await unary(client, { deadline: Date.now() + 50 })).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    backends[0]!.behave((_call, callback, name) => callback(null, Buffer.from(name)));
    await expect.poll(async () => (await unary(client)).ok).toBe(true);
  });

  it("on a route with istiod's default retry policy, the first attempt runs direct and an UNAVAILABLE one is retried onto the other endpoint, replaying the request", async () => {
    const { backends, client } = await setup(2, (ports) => ({
      clusters: [{ name: 'c0', ports }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { ...ISTIO_DEFAULT_RETRY_POLICY, retry_back_off: { base_interval: '0.001s' } } } }],
    }));
    const [b0, b1] = [backends[0]!, backends[1]!];
    b0.behave(failWith(grpc.status.UNAVAILABLE, 'b0 down'));
    b1.behave((call, callback, name) => callback(null, Buffer.from(`${name}:${call.request.toString()}`)));
    // Round robin alternates: a call that starts on b0 fails there and is retried on b1 with its message.
    for (let i = 0; i < 4; i++) expect(await unary(client, { body: `m${i}` })).toEqual({ ok: true, body: `b1:m${i}`, code: grpc.status.OK, details: '' });
    expect(b0.seen.length).toBeGreaterThanOrEqual(3);
    const previous = b1.seen.map((s) => s.metadata.get('grpc-previous-rpc-attempts')[0]);
    expect(previous).toHaveLength(4);
    expect(previous.filter((p) => p === '1')).toHaveLength(b0.seen.length);

    // A bidi stream whose first attempt fails on its first message: the retry replays every message sent.
    b0.failChats(2);
    for (let i = 0; i < 2; i++) expect(await chat(client, ['a', 'b', 'c'])).toEqual(['b1:a', 'b1:b', 'b1:c']);
    expect(b0.seen.filter((s) => s.method.endsWith('/Chat')).length).toBeGreaterThanOrEqual(1);
  });

  it('reports each result to outlier detection: a host that keeps failing is ejected', async () => {
    const { backends, client } = await setup(2, (ports) => ({
      clusters: [{ name: 'c0', ports, cluster: { outlier_detection: { consecutive_5xx: 3, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 100 } } }],
    }));
    backends[1]!.behave(failWith(grpc.status.UNAVAILABLE, 'sick'));
    expect((await countAnswers(10, () => unary(client), 1))['!UNAVAILABLE']).toBe(3);
    const sickCalls = backends[1]!.seen.length;
    expect(await countAnswers(20, () => unary(client), 5)).toEqual({ b0: 20 });
    expect(backends[1]!.seen.length).toBe(sickCalls);
  });
});
