import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Backend } from './helpers/backends.js';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import { meshHarness } from './helpers/harness.js';
import { callSpans, installTracing, type CallSpans, type GlobalTracing } from './helpers/otel.js';

/**
 * Trace context goes out through the application's global propagator, on every attempt, naming
 * that attempt's span as the parent: W3C tracecontext by default, B3 multi-header when the app
 * registers `new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })` (what Istio
 * sidecars read), both with a CompositePropagator. Real dispatcher, real loopback servers.
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness();

/** A retried call: bad answers 503, previous_hosts sends the retry to good. Returns the call and what each backend saw. */
async function retriedCall(otel: GlobalTracing, headers: Record<string, string> = {}): Promise<{ call: CallSpans; bad: Backend; good: Backend }> {
  const { backends, source, dispatcher } = await setup(2);
  const [bad, good] = backends as [Backend, Backend];
  bad.behave((_q, res) => res.writeHead(503).end('down'));
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'c', ports: [bad.port, good.port], cluster: { lb_policy: 'ROUND_ROBIN' } }],
    routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, retry_host_predicate: [PREVIOUS_HOSTS] } } }],
  });
  // Round robin from a random start: within two calls one starts on the failing host.
  for (let i = 0; i < 2 && bad.seen.length === 0; i++) {
    good.seen.length = 0;
    otel.exporter.reset();
    expect((await get(dispatcher, '/', headers)).status).toBe(200);
  }
  expect([bad.seen.length, good.seen.length]).toEqual([1, 1]);
  const calls = callSpans(otel.exporter.getFinishedSpans());
  expect(calls).toHaveLength(1);
  expect(calls[0]!.attempts).toHaveLength(2);
  return { call: calls[0]!, bad, good };
}

const ids = (c: CallSpans) => ({
  traceId: c.call.spanContext().traceId,
  attemptSpanIds: c.attempts.map((a) => a.spanContext().spanId),
});

describe('W3C tracecontext (the default propagator)', () => {
  let otel: GlobalTracing;
  beforeAll(() => {
    otel = installTracing();
  });
  afterAll(async () => {
    await otel.uninstall();
  });
  afterEach(() => otel.exporter.reset());

  it('each attempt carries traceparent naming its own attempt span, and the same x-request-id', async () => {
    const { call, bad, good } = await retriedCall(otel);
    const { traceId, attemptSpanIds } = ids(call);
    expect(bad.seen[0]!.headers['traceparent']).toBe(`00-${traceId}-${attemptSpanIds[0]}-01`);
    expect(good.seen[0]!.headers['traceparent']).toBe(`00-${traceId}-${attemptSpanIds[1]}-01`);
    expect(bad.seen[0]!.headers['x-b3-traceid']).toBeUndefined();
    const requestId = bad.seen[0]!.headers['x-request-id'];
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(good.seen[0]!.headers['x-request-id']).toBe(requestId);
  });

  it("continues the caller's trace (incoming traceparent + tracestate) and keeps the caller's x-request-id", async () => {
    const incomingTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const incoming = propagation.extract(ROOT_CONTEXT, { traceparent: `00-${incomingTrace}-00f067aa0ba902b7-01`, tracestate: 'vendor=abc' });
    // What a server's instrumentation does: the handler runs in the extracted context.
    const result = await context.with(incoming, () => retriedCall(otel, { 'x-request-id': 'caller-id-1' }));
    const { call, bad, good } = result;
    expect(call.call.spanContext().traceId).toBe(incomingTrace);
    expect(call.call.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    for (const [i, b] of [bad, good].entries()) {
      expect(b.seen[0]!.headers['traceparent']).toBe(`00-${incomingTrace}-${call.attempts[i]!.spanContext().spanId}-01`);
      expect(b.seen[0]!.headers['tracestate']).toBe('vendor=abc');
      expect(b.seen[0]!.headers['x-request-id']).toBe('caller-id-1');
    }
  });

  it('with tracing off (tracing: false) no span is made and no trace context is sent; retries still share one x-request-id', async () => {
    const { backends, source, dispatcher } = await setup(1, { tracing: false });
    let failuresLeft = 1;
    backends[0]!.behave((_q, res) => (failuresLeft-- > 0 ? res.writeHead(503).end('down') : res.writeHead(200).end('ok')));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } } }],
    });
    expect((await get(dispatcher)).status).toBe(200);
    const seen = backends[0]!.seen;
    expect(seen).toHaveLength(2);
    expect(seen.map((s) => s.headers['traceparent'])).toEqual([undefined, undefined]);
    expect(seen[0]!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]!.headers['x-request-id']).toBe(seen[0]!.headers['x-request-id']);
    expect(otel.exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('B3 multi-header (app registers B3Propagator MULTI_HEADER)', () => {
  let otel: GlobalTracing;
  beforeAll(() => {
    otel = installTracing(new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }));
  });
  afterAll(async () => {
    await otel.uninstall();
  });
  afterEach(() => otel.exporter.reset());

  it('each attempt carries x-b3-traceid / x-b3-spanid (its own attempt span) / x-b3-sampled, and no traceparent', async () => {
    const { call, bad, good } = await retriedCall(otel);
    const { traceId, attemptSpanIds } = ids(call);
    for (const [i, b] of [bad, good].entries()) {
      const h = b.seen[0]!.headers;
      expect(h['x-b3-traceid']).toBe(traceId);
      expect(h['x-b3-spanid']).toBe(attemptSpanIds[i]);
      expect(h['x-b3-sampled']).toBe('1');
      expect(h['traceparent']).toBeUndefined();
      expect(h['b3']).toBeUndefined();
    }
    expect(attemptSpanIds[0]).not.toBe(attemptSpanIds[1]);
  });

  it('continues a trace that arrived as B3 headers', async () => {
    const incoming = propagation.extract(ROOT_CONTEXT, { 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1' });
    expect(trace.getSpanContext(incoming)?.traceId).toBe('80f198ee56343ba864fe8b2a57d3eff7');
    const { call, good } = await context.with(incoming, () => retriedCall(otel));
    expect(call.call.parentSpanContext?.spanId).toBe('e457b5a2e4d86bd1');
    expect(good.seen[0]!.headers['x-b3-traceid']).toBe('80f198ee56343ba864fe8b2a57d3eff7');
  });
});

describe('W3C and B3 together (CompositePropagator)', () => {
  let otel: GlobalTracing;
  beforeAll(() => {
    otel = installTracing(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })] }));
  });
  afterAll(async () => {
    await otel.uninstall();
  });

  it('each attempt carries both header formats naming the same attempt span', async () => {
    const { call, bad, good } = await retriedCall(otel);
    const { traceId, attemptSpanIds } = ids(call);
    for (const [i, b] of [bad, good].entries()) {
      const h = b.seen[0]!.headers;
      expect(h['traceparent']).toBe(`00-${traceId}-${attemptSpanIds[i]}-01`);
      expect([h['x-b3-traceid'], h['x-b3-spanid'], h['x-b3-sampled']]).toEqual([traceId, attemptSpanIds[i], '1']);
    }
  });
});

describe('default tracing while no SDK is registered (untraced fast path)', () => {
  it('sends one x-request-id across retries and no trace context; spans start as soon as an SDK registers, and stop when it goes', async () => {
    const { backends, source, dispatcher } = await setup(1); // default tracing, created before any SDK
    let failNext = true;
    backends[0]!.behave((_q, res) => {
      const fail = failNext;
      failNext = !failNext;
      if (fail) res.writeHead(503).end('down');
      else res.writeHead(200).end('ok');
    });
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port] }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } } }],
    });
    const seen = backends[0]!.seen;
    expect((await get(dispatcher)).status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen.map((s) => s.headers['traceparent'])).toEqual([undefined, undefined]);
    expect(seen[0]!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]!.headers['x-request-id']).toBe(seen[0]!.headers['x-request-id']);

    const otel = installTracing();
    try {
      seen.length = 0;
      expect((await get(dispatcher)).status).toBe(200);
      const calls = callSpans(otel.exporter.getFinishedSpans());
      expect(calls).toHaveLength(1);
      expect(calls[0]!.attempts).toHaveLength(2);
      expect(seen[1]!.headers['traceparent']).toBe(`00-${calls[0]!.call.spanContext().traceId}-${calls[0]!.attempts[1]!.spanContext().spanId}-01`);
      expect(seen[1]!.headers['x-request-id']).toBe(seen[0]!.headers['x-request-id']);
    } finally {
      await otel.uninstall();
    }
    seen.length = 0;
    otel.exporter.reset();
    expect((await get(dispatcher)).status).toBe(200);
    expect(seen.map((s) => s.headers['traceparent'])).toEqual([undefined, undefined]);
    expect(otel.exporter.getFinishedSpans()).toHaveLength(0);
  });
});
