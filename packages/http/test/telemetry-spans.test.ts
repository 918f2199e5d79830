import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { bindClusterMetrics } from '@meshlet/core';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import { eventually, meshHarness } from './helpers/harness.js';
import { callSpans, collectPoints, installTracing, meterWithReader, type GlobalTracing } from './helpers/otel.js';

/**
 * The span tree of each scenario, through the real MeshDispatcher against loopback servers, with
 * the SDK's in-memory exporter: one INTERNAL `meshlet <method> <route>` span per logical call and
 * one CLIENT span per attempt under it.
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness();
let otel: GlobalTracing;

beforeAll(() => {
  otel = installTracing();
});
afterAll(async () => {
  await otel.uninstall();
});
afterEach(() => otel.exporter.reset());

const FAST = { base_interval: '0.001s', max_interval: '0.002s' };

describe('span tree per scenario (real dispatcher, real backends)', () => {
  it('success: a call span with route, cluster, flags "-" and one CLIENT attempt span', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backends[0]!.port] }], routes: [{ name: 'r1', match: { prefix: '/' }, route: { cluster: 'c' } }] });
    expect(await get(dispatcher, '/reviews/1')).toMatchObject({ status: 200 });

    const calls = callSpans(otel.exporter.getFinishedSpans());
    expect(calls).toHaveLength(1);
    const { call, attempts } = calls[0]!;
    expect(call.name).toBe('meshlet GET r1');
    expect(call.attributes).toMatchObject({
      'meshlet.target': TARGET,
      'meshlet.route': 'r1',
      'meshlet.cluster': 'c',
      'meshlet.attempt_count': 1,
      'meshlet.response_flags': '-',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.events).toHaveLength(0);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.name).toBe('GET');
    expect(attempts[0]!.attributes).toMatchObject({
      'server.address': '127.0.0.1',
      'server.port': backends[0]!.port,
      'meshlet.cluster': 'c',
      'url.path': '/reviews/1',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
    expect(attempts[0]!.attributes['http.request.resend_count']).toBeUndefined();
    // The backend was called with the attempt span as parent.
    const traceparent = String(backends[0]!.seen[0]!.headers['traceparent']);
    expect(traceparent).toBe(`00-${call.spanContext().traceId}-${attempts[0]!.spanContext().spanId}-01`);
  });

  it('retry: a meshlet.retry event on the call span and 2 attempt spans (503 then 200, resend_count 1)', async () => {
    const { backends, source, dispatcher } = await setup(2);
    const [bad, good] = backends as [(typeof backends)[0], (typeof backends)[0]];
    bad.behave((_q, res) => res.writeHead(503).end('down'));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [bad.port, good.port], cluster: { lb_policy: 'ROUND_ROBIN' } }],
      routes: [{ name: 'r1', match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: FAST, retry_host_predicate: [PREVIOUS_HOSTS] } } }],
    });
    // Round robin: one of two calls starts on the failing host and is retried on the other.
    await get(dispatcher);
    await get(dispatcher);
    const retried = callSpans(otel.exporter.getFinishedSpans()).find((c) => c.attempts.length === 2);
    expect(retried).toBeDefined();
    const { call, attempts } = retried!;
    expect(call.attributes).toMatchObject({ 'meshlet.attempt_count': 2, 'meshlet.response_flags': '-', 'http.response.status_code': 200 });
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.events.map((e) => [e.name, e.attributes])).toEqual([['meshlet.retry', { 'meshlet.retry.reason': '5xx', 'meshlet.attempt': 1 }]]);
    expect(attempts.map((a) => [a.attributes['server.port'], a.attributes['http.response.status_code'], a.attributes['http.request.resend_count'], a.status.code])).toEqual([
      [bad.port, 503, undefined, SpanStatusCode.ERROR],
      [good.port, 200, 1, SpanStatusCode.UNSET],
    ]);
    for (const a of attempts) expect(a.spanContext().traceId).toBe(call.spanContext().traceId);
  });

  it('timeout: the call span is an error flagged UT (504) and the attempt span ends as an error', async () => {
    const { backends, source, dispatcher } = await setup(1);
    backends[0]!.behave(() => {}); // never answers
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backends[0]!.port] }], routes: [{ name: 'slow', match: { prefix: '/' }, route: { cluster: 'c', timeout: '0.1s' } }] });
    const reply = await get(dispatcher);
    expect([reply.status, reply.headers['x-meshlet-response-flags']]).toEqual([504, 'UT']);

    await eventually(() => callSpans(otel.exporter.getFinishedSpans()).length === 1 && otel.exporter.getFinishedSpans().length === 2);
    const { call, attempts } = callSpans(otel.exporter.getFinishedSpans())[0]!;
    expect(call.name).toBe('meshlet GET slow');
    expect(call.attributes).toMatchObject({ 'meshlet.response_flags': 'UT', 'meshlet.attempt_count': 1, 'http.response.status_code': 504 });
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts[0]!.attributes['http.response.status_code']).toBeUndefined();
    // The engine records an attempt cut by the route timeout as a local timeout outcome.
    expect(attempts[0]!.attributes['error.type']).toBe('per-try-timeout');
    // Envoy tells the upstream how long the route leaves it.
    expect(backends[0]!.seen[0]!.headers['x-envoy-expected-rq-timeout-ms']).toBe('100');
  });

  it('breaker overflow: the overflowed call is a UO error span with no attempt span; the upstream never sees it', async () => {
    const { backends, source, dispatcher } = await setup(1);
    const release: Array<() => void> = [];
    backends[0]!.behave((_q, res) => release.push(() => res.writeHead(200).end('ok')));
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [backends[0]!.port], cluster: { circuit_breakers: { thresholds: [{ max_requests: 1 }] } } }],
      routes: [{ name: 'r1', match: { prefix: '/' }, route: { cluster: 'c' } }],
    });
    const held = get(dispatcher);
    await eventually(() => release.length === 1);
    const overflow = await get(dispatcher);
    expect([overflow.status, overflow.headers['x-meshlet-response-flags']]).toEqual([503, 'UO']);
    release[0]!();
    expect((await held).status).toBe(200);
    expect(backends[0]!.seen).toHaveLength(1);

    await eventually(() => callSpans(otel.exporter.getFinishedSpans()).length === 2);
    const spans = otel.exporter.getFinishedSpans();
    const calls = callSpans(spans);
    const uo = calls.find((c) => c.call.attributes['meshlet.response_flags'] === 'UO')!;
    expect(uo.call.attributes).toMatchObject({ 'meshlet.attempt_count': 0, 'http.response.status_code': 503, 'meshlet.cluster': 'c' });
    expect(uo.call.status.code).toBe(SpanStatusCode.ERROR);
    expect(uo.attempts).toHaveLength(0);
    // Exactly one CLIENT span in all: the held request's.
    expect(spans.filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(1);
  });

  it('outlier ejection: counted by meshlet_outlier_ejections_total, and no attempt span goes to the ejected host afterwards', async () => {
    const { backends, source, dispatcher } = await setup(2);
    const [good, bad] = backends as [(typeof backends)[0], (typeof backends)[0]];
    applyMesh(source, {
      target: TARGET,
      clusters: [
        {
          name: 'c',
          ports: [good.port, bad.port],
          cluster: { lb_policy: 'ROUND_ROBIN', outlier_detection: { consecutive_5xx: 2, interval: '0.1s', base_ejection_time: '30s', max_ejection_percent: 100 } },
        },
      ],
    });
    const { meterProvider, reader } = meterWithReader();
    const binding = bindClusterMetrics(dispatcher.mesh, { meterProvider });
    try {
      // The ejection listener attaches at the first collection that sees the cluster.
      await get(dispatcher);
      expect(await collectPoints(reader, 'meshlet_outlier_ejections_total')).toEqual([]);
      let failures = 0;
      bad.behave((_q, res) => {
        failures++;
        res.writeHead(500).end('bad');
      });
      for (let i = 0; i < 8 && failures < 2; i++) await get(dispatcher);
      expect(failures).toBe(2);
      const seenByBad = bad.seen.length;
      expect(await collectPoints(reader, 'meshlet_outlier_ejections_total')).toEqual([{ attributes: { cluster: 'c', reason: 'consecutive_5xx' }, value: 1 }]);
      const endpoints = await collectPoints(reader, 'meshlet_cluster_endpoints');
      expect(endpoints).toContainEqual({ attributes: { cluster: 'c', health_status: expect.any(String), ejected: 'true' }, value: 1 });

      otel.exporter.reset();
      for (let i = 0; i < 6; i++) expect(await get(dispatcher)).toMatchObject({ status: 200 });
      const after = callSpans(otel.exporter.getFinishedSpans());
      expect(after).toHaveLength(6);
      const ports = after.flatMap((c) => c.attempts.map((a) => a.attributes['server.port']));
      expect(ports).toEqual(Array(6).fill(good.port));
      expect(bad.seen).toHaveLength(seenByBad);
    } finally {
      binding.dispose();
      await meterProvider.shutdown();
    }
  });
});
