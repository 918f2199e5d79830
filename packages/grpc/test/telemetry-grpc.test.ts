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

/** One backend that answers UNAVAILABLE to its first call, behind a route retrying `unavailable` once. */
async function setup(channelOptions: Omit<MeshChannelOptions, 'mesh'> = {}): Promise<{ backend: GrpcBackend; client: EchoClient }> {
  const backend = await startBackend('b0');
  let failuresLeft = 1;
  backend.behave((_call, callback, name) => {
    if (failuresLeft-- > 0) callback({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
    else callback(null, Buffer.from(name));
  });
  const source = new StaticResourceSource();
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'c0', ports: [backend.port] }],
    routes: [{ name: 'echo-route', match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } } }],
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
