import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { trace, context, propagation } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { StaticResourceSource } from '@meshlet/xds-client';
import { createMeshDispatcher, type MeshDispatcher } from '@meshlet/http';
import { startBackend, type Backend } from './helpers/backends.js';
import { applyMesh } from './helpers/meshConfig.js';

const TARGET = 'reviews.test:9080';
const exporter = new InMemorySpanExporter();
let provider: NodeTracerProvider;
let backends: Backend[];
let dispatcher: MeshDispatcher;

beforeAll(async () => {
  provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register(); // W3C tracecontext propagator + async-hooks context manager
  backends = [await startBackend('bad'), await startBackend('good')];
  backends[0]!.behave((_q, res) => res.writeHead(503).end('down'));
  const source = new StaticResourceSource();
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'c', ports: backends.map((b) => b.port), cluster: { lb_policy: 'ROUND_ROBIN' } }],
    routes: [
      {
        name: 'reviews-route',
        match: { prefix: '/' },
        route: {
          cluster: 'c',
          retry_policy: {
            retry_on: '5xx',
            num_retries: 2,
            retry_back_off: { base_interval: '0.001s' },
            retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
          },
        },
      },
    ],
  });
  dispatcher = await createMeshDispatcher({ source });
});

afterAll(async () => {
  await dispatcher.destroy();
  await Promise.all(backends.map((b) => b.close()));
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('telemetry through the real dispatcher', () => {
  it('makes a call span and one CLIENT span per attempt, propagating each attempt span and one x-request-id', async () => {
    // Find a request that hits the failing host first, so it is retried.
    let retried = false;
    for (let i = 0; i < 6 && !retried; i++) {
      backends.forEach((b) => (b.seen.length = 0));
      exporter.reset();
      const res = await request(`http://${TARGET}/r`, { dispatcher });
      expect(res.statusCode).toBe(200);
      await res.body.text();
      retried = backends[0]!.seen.length === 1;
    }
    expect(retried).toBe(true);
    const bad = backends[0]!.seen[0]!.headers;
    const good = backends[1]!.seen[0]!.headers;
    // One logical call: the same request id on both attempts; each attempt names its own span.
    expect(bad['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(good['x-request-id']).toBe(bad['x-request-id']);
    const traceOf = (h: typeof bad) => String(h['traceparent']).split('-');
    expect(traceOf(bad)[1]).toBe(traceOf(good)[1]);
    expect(traceOf(bad)[2]).not.toBe(traceOf(good)[2]);

    const spans = exporter.getFinishedSpans();
    const callSpan = spans.find((s) => s.name.startsWith('meshlet GET'));
    expect(callSpan?.attributes).toMatchObject({ 'meshlet.target': TARGET, 'meshlet.route': 'reviews-route', 'meshlet.cluster': 'c', 'meshlet.attempt_count': 2 });
    const attemptSpans = spans.filter((s) => s.parentSpanContext?.spanId === callSpan!.spanContext().spanId && s.kind === 2 /* CLIENT */);
    expect(attemptSpans.map((s) => s.attributes['http.response.status_code']).sort()).toEqual([200, 503]);
    expect(new Set(attemptSpans.map((s) => s.spanContext().spanId))).toEqual(new Set([traceOf(bad)[2], traceOf(good)[2]]));
  });
});
