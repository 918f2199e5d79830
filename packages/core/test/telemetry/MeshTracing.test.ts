import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { CallEngine } from '../../src/call/CallEngine.js';
import { MeshCallError } from '../../src/call/MeshCallError.js';
import type { AttemptRequest } from '../../src/call/AttemptTransport.js';
import { MeshTracing } from '../../src/telemetry/MeshTracing.js';
import { CallTrace } from '../../src/telemetry/CallTrace.js';
import { decorateAttemptHeaders, decorateAttemptMetadata } from '../../src/telemetry/AttemptHeaders.js';
import { injectTraceContext } from '../../src/telemetry/TraceContextInjection.js';
import { CLUSTER, FakeTransport, MapHeaders, request, routeConfig, snapshot, type Step } from './engineHarness.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  // register(): global tracer provider, AsyncLocalStorage context manager and the W3C propagator.
  provider.register();
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
afterEach(() => exporter.reset());

/** Runs one logical call the way a transport wires telemetry: startCall, run, decorate each attempt. */
async function runCall(tracing: MeshTracing, steps: Step[], callerHeaders: Record<string, string> = {}, retryOn = '5xx,connect-failure') {
  const engine = new CallEngine({ kind: 'http', observer: tracing, random: () => 0.5 });
  const call = tracing.startCall({ kind: 'http', method: 'GET', target: 'reviews.default.svc.cluster.local:9080' });
  const sent: { attempt: AttemptRequest; headers: MapHeaders }[] = [];
  const transport = new FakeTransport(steps, (attempt) => {
    const h = new MapHeaders(callerHeaders);
    decorateAttemptHeaders(h, attempt, call);
    sent.push({ attempt, headers: h });
  });
  let error: unknown;
  try {
    await call.run(() => engine.execute(snapshot(routeConfig(retryOn)), request(callerHeaders), transport));
  } catch (err) {
    error = err;
  }
  const spans = exporter.getFinishedSpans();
  const callSpan = spans.find((s) => s.kind === SpanKind.INTERNAL);
  const attemptSpans = spans.filter((s) => s.kind === SpanKind.CLIENT);
  return { sent, spans, callSpan, attemptSpans, error };
}

const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('MeshTracing', () => {
  it('makes one INTERNAL span per logical call and one CLIENT span per attempt, retries included', async () => {
    const { callSpan, attemptSpans, spans } = await runCall(new MeshTracing(), [503, 200]);
    expect(spans).toHaveLength(3);
    expect(callSpan!.name).toBe('meshlet GET reviews-route');
    expect(callSpan!.attributes).toMatchObject({
      'meshlet.target': 'reviews.default.svc.cluster.local:9080',
      'meshlet.route': 'reviews-route',
      'meshlet.cluster': CLUSTER,
      'meshlet.attempt_count': 2,
      'meshlet.response_flags': '-',
      'http.response.status_code': 200,
    });
    expect(callSpan!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(callSpan!.events.map((e) => [e.name, e.attributes])).toEqual([['meshlet.retry', { 'meshlet.retry.reason': '5xx', 'meshlet.attempt': 1 }]]);

    expect(attemptSpans).toHaveLength(2);
    const [first, second] = attemptSpans;
    for (const s of attemptSpans) {
      expect(s.spanContext().traceId).toBe(callSpan!.spanContext().traceId);
      expect(parentId(s)).toBe(callSpan!.spanContext().spanId);
      expect(s.name).toBe('GET');
    }
    expect(first!.attributes).toMatchObject({ 'server.address': '10.0.0.1', 'server.port': 9080, 'http.response.status_code': 503, 'http.request.method': 'GET' });
    expect(first!.attributes['http.request.resend_count']).toBeUndefined();
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect(second!.attributes).toMatchObject({ 'server.address': '10.0.0.2', 'http.request.resend_count': 1, 'http.response.status_code': 200 });
  });

  it('injects a traceparent naming each attempt span on every attempt, and keeps x-request-id across attempts', async () => {
    const { sent, attemptSpans } = await runCall(new MeshTracing(), ['connect-failure', 503, 200]);
    expect(sent).toHaveLength(3);
    const ids = sent.map((s) => s.headers.get('x-request-id'));
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(1);
    for (let i = 0; i < 3; i++) {
      const ctx = attemptSpans[i]!.spanContext();
      expect(sent[i]!.headers.get('traceparent')).toBe(`00-${ctx.traceId}-${ctx.spanId}-01`);
    }
    expect(attemptSpans[0]!.attributes['error.type']).toBe('connect-failure');
  });

  it("keeps the caller's x-request-id", async () => {
    const { sent } = await runCall(new MeshTracing(), [503, 200], { 'x-request-id': 'caller-id-1' });
    expect(sent.map((s) => s.headers.get('x-request-id'))).toEqual(['caller-id-1', 'caller-id-1']);
  });

  it('with attemptSpans: false makes no CLIENT span and propagates the call span', async () => {
    const { sent, callSpan, attemptSpans } = await runCall(new MeshTracing({ attemptSpans: false }), [503, 200]);
    expect(attemptSpans).toHaveLength(0);
    const ctx = callSpan!.spanContext();
    expect(sent.map((s) => s.headers.get('traceparent'))).toEqual([`00-${ctx.traceId}-${ctx.spanId}-01`, `00-${ctx.traceId}-${ctx.spanId}-01`]);
  });

  it('nests the call under the caller span and records failures with Envoy response flags', async () => {
    const tracer = provider.getTracer('test');
    const parent = tracer.startSpan('handler');
    const { callSpan, error } = await context.with(trace.setSpan(context.active(), parent), () => runCall(new MeshTracing(), ['connect-failure'], {}, 'gateway-error'));
    parent.end();
    expect(error).toBeInstanceOf(MeshCallError);
    expect(parentId(callSpan!)).toBe(parent.spanContext().spanId);
    // gateway-error retries connect failures until num_retries (2) runs out: UF plus URX, as Envoy logs it.
    expect(callSpan!.attributes['meshlet.response_flags']).toBe('UF,URX');
    expect(callSpan!.attributes['meshlet.attempt_count']).toBe(3);
    expect(callSpan!.attributes['error.type']).toBe('UF');
    expect(callSpan!.attributes['http.response.status_code']).toBe(503);
    expect(callSpan!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('records a gRPC status on the attempt span', async () => {
    const tracing = new MeshTracing();
    const engine = new CallEngine({ kind: 'grpc', observer: tracing });
    const call = tracing.startCall({ kind: 'grpc', method: '/reviews.Reviews/Get', target: 'reviews:9080' });
    await call.run(() => engine.execute(snapshot(routeConfig()), request(), new FakeTransport([{ status: 200, grpc: 14 }])));
    const attempt = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(attempt.name).toBe('reviews.Reviews/Get');
    expect(attempt.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 14 });
    expect(attempt.status.code).toBe(SpanStatusCode.ERROR);
    const callSpan = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.INTERNAL)!;
    expect(callSpan.attributes['rpc.grpc.status_code']).toBe(14);
  });

  it('ends the call span once when the call fails before reaching the engine', async () => {
    const call = new MeshTracing().startCall({ kind: 'http', method: 'POST', target: 't:80' });
    await expect(call.run(() => Promise.reject(new Error('body read failed')))).rejects.toThrow('body read failed');
    call.end();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });
});

describe('propagation helpers', () => {
  it('decorateAttemptMetadata writes the same headers into grpc-js style metadata', async () => {
    const tracing = new MeshTracing();
    const call = tracing.startCall({ kind: 'grpc', method: '/a.B/C', target: 'b:50051' });
    const md = new Map<string, string[]>();
    const metadata = { get: (k: string) => md.get(k) ?? [], set: (k: string, v: string) => void md.set(k, [v]) };
    const engine = new CallEngine({ kind: 'grpc', observer: tracing });
    await call.run(() => engine.execute(snapshot(routeConfig()), request(), new FakeTransport([200], (a) => decorateAttemptMetadata(metadata, a, call))));
    const attempt = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(md.get('traceparent')).toEqual([`00-${attempt.spanContext().traceId}-${attempt.spanContext().spanId}-01`]);
    expect(md.get('x-request-id')?.[0]).toBe(call.requestId);
  });

  it('generateRequestId false (HCM generate_request_id): no id is made, the trace context still goes, a caller id is kept', async () => {
    const tracing = new MeshTracing();
    const call = tracing.startCall({ kind: 'http', method: 'GET', target: 'b:80' });
    const engine = new CallEngine({ kind: 'http', observer: tracing, random: () => 0.5 });
    const sent: MapHeaders[] = [];
    const decorate = (callerHeaders: Record<string, string>) => (a: AttemptRequest) => {
      const h = new MapHeaders(callerHeaders);
      decorateAttemptHeaders(h, a, call, undefined, call, false);
      sent.push(h);
    };
    await call.run(() => engine.execute(snapshot(routeConfig('5xx')), request(), new FakeTransport([503, 200], decorate({}))));
    expect(sent.map((h) => h.get('x-request-id'))).toEqual([undefined, undefined]);
    expect(sent.map((h) => h.get('traceparent'))).toEqual([expect.stringMatching(/^00-/), expect.stringMatching(/^00-/)]);
    expect(call.requestId).toBeUndefined();
    sent.length = 0;
    const callerHeaders = { 'x-request-id': 'caller-id-2' };
    await call.run(() => engine.execute(snapshot(routeConfig('5xx')), request(callerHeaders), new FakeTransport([503, 200], decorate(callerHeaders))));
    expect(sent.map((h) => h.get('x-request-id'))).toEqual(['caller-id-2', 'caller-id-2']);
  });

  it('injectTraceContext uses the active context when no span is given', () => {
    const span = provider.getTracer('test').startSpan('s');
    const h = new MapHeaders();
    context.with(trace.setSpan(context.active(), span), () => injectTraceContext(h));
    span.end();
    expect(h.get('traceparent')).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  it('CallTrace.of finds the call only inside run()', () => {
    const call = new MeshTracing().startCall({ kind: 'http', method: 'GET', target: 't:80' });
    expect(CallTrace.of()).toBeUndefined();
    expect(call.run(() => CallTrace.of())).toBe(call);
  });
});
