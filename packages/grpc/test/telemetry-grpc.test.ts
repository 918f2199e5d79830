import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Mesh } from '@meshlet/core';
import { StaticResourceSource } from '@meshlet/xds-client';
import { meshClientOptions, type MeshChannelOptions } from '@meshlet/grpc';
import { startBackend, type GrpcBackend } from './helpers/backends.js';
import { EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';
import { applyMesh } from '../../http/test/helpers/meshConfig.js';
import { eventually } from '../../http/test/helpers/harness.js';
import { callSpans, installTracing, type GlobalTracing } from '../../http/test/helpers/otel.js';

/**
 * gRPC calls through the MeshChannel are traced like HTTP ones: an INTERNAL span per call, a
 * CLIENT span per attempt (OTel RPC conventions), and each attempt's traceparent in its metadata.
 * Real grpc-js server on 127.0.0.1, the SDK's in-memory exporter, the W3C propagator.
 */
const TARGET = 'echo.test:50051';
const METHOD = '/meshlet.test.Echo/Echo';
let otel: GlobalTracing;
let cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  otel = installTracing();
});
afterAll(async () => {
  await otel.uninstall();
});
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
  otel.exporter.reset();
});

interface SetupOptions {
  /** Which calls the backend answers UNAVAILABLE: the first it sees (default), or every first attempt (x-envoy-attempt-count 1). */
  readonly refuse?: 'first-call' | 'first-attempts';
  /** Added to the route (e.g. request_headers_to_add) and to its virtual host. */
  readonly route?: Record<string, unknown>;
  readonly virtualHost?: Record<string, unknown>;
}

/** One backend that answers UNAVAILABLE to its first call, behind a route retrying `unavailable` once. */
async function setup(channelOptions: Omit<MeshChannelOptions, 'mesh'> = {}, options: SetupOptions = {}): Promise<{ backend: GrpcBackend; client: EchoClient }> {
  const backend = await startBackend('b0');
  let failuresLeft = 1;
  backend.behave((call, callback, name) => {
    const refuse = options.refuse === 'first-attempts' ? call.metadata.get('x-envoy-attempt-count')[0] === '1' : failuresLeft-- > 0;
    if (refuse) callback({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
    else callback(null, Buffer.from(name));
  });
  const source = new StaticResourceSource();
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'c0', ports: [backend.port] }],
    routes: [
      {
        name: 'echo-route',
        match: { prefix: '/' },
        route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } },
        ...options.route,
      },
    ],
    ...(options.virtualHost === undefined ? {} : { virtualHost: options.virtualHost }),
  });
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds:///${TARGET}`, channelOptions));
  cleanups.push(async () => {
    client.close();
    mesh.close();
    await backend.close();
  });
  return { backend, client };
}

describe('gRPC tracing through the MeshChannel', () => {
  it('a retried unary call: a call span, 2 CLIENT attempt spans, and each attempt span as traceparent in the server metadata', async () => {
    const { backend, client } = await setup();
    // The caller's own span: the mesh call continues its trace.
    const r = await trace.getTracer('app').startActiveSpan('app work', (span) => unary(client).finally(() => span.end()));
    expect(r).toMatchObject({ ok: true, body: 'b0' });
    expect(backend.seen).toHaveLength(2);

    await eventually(() => callSpans(otel.exporter.getFinishedSpans()).length === 1);
    const spans = otel.exporter.getFinishedSpans();
    const { call, attempts } = callSpans(spans)[0]!;
    const appSpan = spans.find((s) => s.name === 'app work')!;
    expect(call.parentSpanContext?.spanId).toBe(appSpan.spanContext().spanId);
    expect(call.name).toBe(`meshlet ${METHOD} echo-route`);
    expect(call.attributes).toMatchObject({
      'meshlet.target': TARGET,
      'rpc.system': 'grpc',
      'meshlet.route': 'echo-route',
      'meshlet.cluster': 'c0',
      'meshlet.attempt_count': 2,
      'meshlet.response_flags': '-',
    });
    // The OK status arrives in trailers after the message; the transport reports it at stream end,
    // so the call span carries it. The attempt span ended when the engine committed the response
    // (its head), before the trailers, so it has none.
    expect(call.attributes['rpc.grpc.status_code']).toBe(grpc.status.OK);
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.events.map((e) => [e.name, e.attributes])).toEqual([['meshlet.retry', { 'meshlet.retry.reason': 'unavailable', 'meshlet.attempt': 1 }]]);

    expect(attempts).toHaveLength(2);
    expect(attempts.map((a) => [a.name, a.kind, a.attributes['rpc.system'], a.attributes['server.port'], a.attributes['rpc.grpc.status_code'], a.status.code])).toEqual([
      ['meshlet.test.Echo/Echo', SpanKind.CLIENT, 'grpc', backend.port, grpc.status.UNAVAILABLE, SpanStatusCode.ERROR],
      ['meshlet.test.Echo/Echo', SpanKind.CLIENT, 'grpc', backend.port, undefined, SpanStatusCode.UNSET],
    ]);
    expect(attempts[1]!.attributes['http.request.resend_count']).toBe(1);

    // Each attempt carried its own span as parent, in the same trace; one x-request-id for the call.
    const traceId = call.spanContext().traceId;
    expect(backend.seen.map((s) => s.metadata.get('traceparent')[0])).toEqual(attempts.map((a) => `00-${traceId}-${a.spanContext().spanId}-01`));
    const requestIds = backend.seen.map((s) => s.metadata.get('x-request-id')[0]);
    expect(requestIds[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIds[1]).toBe(requestIds[0]);
  });

  it('a call that fails is an error span with the final gRPC status', async () => {
    const { backend, client } = await setup();
    backend.behave((_call, callback) => callback({ code: grpc.status.PERMISSION_DENIED, details: 'no' }));
    const r = await unary(client);
    expect(r).toMatchObject({ ok: false, code: grpc.status.PERMISSION_DENIED });
    await eventually(() => callSpans(otel.exporter.getFinishedSpans()).length === 1);
    const { call, attempts } = callSpans(otel.exporter.getFinishedSpans())[0]!;
    expect(call.attributes).toMatchObject({ 'meshlet.attempt_count': 1, 'rpc.grpc.status_code': grpc.status.PERMISSION_DENIED });
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts).toHaveLength(1);
  });

  it('a call the mesh fails after it started (UT, max_stream_duration) is an error span with its response flags', async () => {
    const { backend, client } = await setup({}, { route: { route: { cluster: 'c0', max_stream_duration: { max_stream_duration: '0.2s' } } } });
    const held: Array<grpc.sendUnaryData<Buffer>> = [];
    backend.behave((_call, callback) => held.push(callback)); // answers only at cleanup
    cleanups.push(() => held.forEach((cb) => cb(null, Buffer.from('late'))));
    const r = await unary(client);
    expect(r).toMatchObject({ ok: false, code: grpc.status.DEADLINE_EXCEEDED });
    await eventually(() => callSpans(otel.exporter.getFinishedSpans()).length === 1);
    const { call } = callSpans(otel.exporter.getFinishedSpans())[0]!;
    expect(call.attributes).toMatchObject({ 'meshlet.response_flags': 'UT' });
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('tracing: false makes no spans and sends no trace context; the retry keeps the x-request-id', async () => {
    const { backend, client } = await setup({ tracing: false });
    expect(await unary(client)).toMatchObject({ ok: true });
    expect(backend.seen).toHaveLength(2);
    expect(backend.seen.map((s) => s.metadata.get('traceparent'))).toEqual([[], []]);
    const requestIds = backend.seen.map((s) => s.metadata.get('x-request-id')[0]);
    expect(requestIds[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIds[1]).toBe(requestIds[0]);
    expect(otel.exporter.getFinishedSpans()).toHaveLength(0);
  });

  it("untraced: a retried call sends the caller's x-request-id on both attempts and leaves the caller's Metadata as it was", async () => {
    const { backend, client } = await setup({ tracing: false });
    const md = new grpc.Metadata();
    md.set('x-request-id', 'caller-id-1');
    const body = await new Promise<string>((resolve, reject) => client.Echo(Buffer.from('hi'), md, {}, (err: grpc.ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!.toString()))));
    expect(body).toBe('b0');
    expect(backend.seen.map((s) => s.metadata.get('x-request-id'))).toEqual([['caller-id-1'], ['caller-id-1']]);
    // The second attempt says it is a retry; the first did not (attempts never see each other's metadata).
    expect(backend.seen.map((s) => s.metadata.get('grpc-previous-rpc-attempts'))).toEqual([[], ['1']]);
    // The caller may reuse its Metadata: nothing the mesh adds per attempt is left in it.
    expect(md.getMap()).toEqual({ 'x-request-id': 'caller-id-1' });
  });
});

/**
 * Each attempt's metadata is the caller's plus what the mesh adds for that attempt (route header
 * mutation, x-envoy-attempt-count, grpc-previous-rpc-attempts, x-request-id, trace context). The mesh
 * writes those into the caller's Metadata only for the instant grpc-js takes its copy, then puts it
 * back: the caller's object must come out as it went in, and a retry must not carry the first
 * attempt's additions. (Several values of one key reach the server joined with ", ", as HTTP/2 carries them.)
 */
const MUTATING: SetupOptions = {
  refuse: 'first-attempts',
  virtualHost: { include_request_attempt_count: true },
  route: {
    request_headers_to_add: [
      { header: { key: 'x-tenant', value: 'mesh' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-route', value: 'r1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ],
  },
};

function echo(client: EchoClient, metadata: grpc.Metadata): Promise<string> {
  return new Promise((resolve, reject) => client.Echo(Buffer.from('hi'), metadata, {}, (err: grpc.ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!.toString()))));
}

function callerMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-tenant', 'a');
  md.set('x-keep', 'k');
  md.set('x-route', 'caller');
  md.set('ctx-bin', Buffer.from([1, 2, 3]));
  return md;
}

const CALLER_MAP = { 'x-tenant': 'a', 'x-keep': 'k', 'x-route': 'caller', 'ctx-bin': Buffer.from([1, 2, 3]) };

describe("attempt metadata: the caller's Metadata is decorated per attempt and left as it was", () => {
  for (const traced of [false, true]) {
    it(`${traced ? 'traced' : 'untraced'}: a retried call; each attempt has only its own additions, and the caller's object is unchanged`, async () => {
      const { backend, client } = await setup(traced ? {} : { tracing: false }, MUTATING);
      const md = callerMetadata();
      const tenantValues = md.get('x-tenant');

      expect(await echo(client, md)).toBe('b0');
      expect(backend.seen).toHaveLength(2);
      const [first, second] = backend.seen.map((s) => s.metadata);
      // The route's append and overwrite apply to the caller's values once per attempt, never on top of the last attempt's.
      for (const attempt of [first!, second!]) {
        expect(attempt.get('x-tenant')).toEqual(['a, mesh']);
        expect(attempt.get('x-route')).toEqual(['r1']);
        expect(attempt.get('x-keep')).toEqual(['k']);
        expect(attempt.get('ctx-bin')).toEqual([Buffer.from([1, 2, 3])]);
      }
      expect([first!.get('x-envoy-attempt-count'), second!.get('x-envoy-attempt-count')]).toEqual([['1'], ['2']]);
      expect([first!.get('grpc-previous-rpc-attempts'), second!.get('grpc-previous-rpc-attempts')]).toEqual([[], ['1']]);
      // One generated x-request-id for the call, on both attempts.
      const id = first!.get('x-request-id');
      expect(id).toHaveLength(1);
      expect(second!.get('x-request-id')).toEqual(id);
      if (traced) {
        // Each attempt carries its own span as parent: the retry's traceparent is its own, not the first's.
        expect(first!.get('traceparent')).toHaveLength(1);
        expect(second!.get('traceparent')).toHaveLength(1);
        expect(second!.get('traceparent')).not.toEqual(first!.get('traceparent'));
      }

      // The caller's object: same keys and values, and the value array it held is untouched.
      expect(md.getMap()).toEqual(CALLER_MAP);
      expect(md.get('x-tenant')).toEqual(['a']);
      expect(tenantValues).toEqual(['a']);
      for (const key of ['x-request-id', 'x-envoy-attempt-count', 'grpc-previous-rpc-attempts', 'traceparent', 'tracestate']) expect(md.get(key)).toEqual([]);

      // Reused for the next call: nothing piled up from the last one.
      expect(await echo(client, md)).toBe('b0');
      expect(backend.seen[3]!.metadata.get('x-tenant')).toEqual(['a, mesh']);
      expect(backend.seen[3]!.metadata.get('x-request-id')).not.toEqual(id);
      expect(md.getMap()).toEqual(CALLER_MAP);
    });
  }

  it('one Metadata object shared by many concurrent calls: every attempt sees the caller values plus its own additions only', async () => {
    // No retries here: 20 at once would exceed the cluster's default max_retries (3) anyway.
    const { backend, client } = await setup({ tracing: false }, { ...MUTATING, refuse: 'first-call' });
    const md = callerMetadata();
    const bodies = await Promise.all(Array.from({ length: 20 }, () => echo(client, md)));
    // The first call is refused once and retried: 21 attempts in all.
    expect(bodies).toEqual(Array(20).fill('b0'));
    expect(backend.seen).toHaveLength(21);
    for (const s of backend.seen) {
      expect(s.metadata.get('x-tenant')).toEqual(['a, mesh']);
      expect(s.metadata.get('x-request-id')).toHaveLength(1);
      expect(s.metadata.get('x-envoy-attempt-count')).toHaveLength(1);
    }
    // 20 calls, 20 distinct ids.
    expect(new Set(backend.seen.map((s) => s.metadata.get('x-request-id')[0])).size).toBe(20);
    expect(md.getMap()).toEqual(CALLER_MAP);
  });
});
