import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { envoyRoot } from '@meshlet/xds-client';
import { IstioMetrics } from '@meshlet/core';
import type { Backend } from './helpers/backends.js';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import { eventually, meshHarness } from './helpers/harness.js';
import { collectPoints, meterWithReader, type CollectingReader, type Point } from './helpers/otel.js';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * Istio's standard metrics as an Istio dashboard reads them, recorded by IstioMetrics on a real
 * sdk-metrics MeterProvider through the real MeshDispatcher: names, the full label set and
 * values, once per logical call (retries are not extra requests; they are meshlet_retries_total).
 * The meter provider is passed explicitly: no global OTel state in this file.
 */
const HOST = 'reviews.default.svc.cluster.local';
const TARGET = `${HOST}:9080`;
const V1 = `outbound|9080|v1|${HOST}`;
const { setup, get, many } = meshHarness(`http://${TARGET}`);

let meter: { meterProvider: MeterProvider; reader: CollectingReader } | undefined;
afterEach(async () => {
  await meter?.meterProvider.shutdown();
  meter = undefined;
});

async function meshWithMetrics(n: number, cluster: Record<string, unknown> = {}, route: Record<string, unknown> = {}, maxReplayBodyBytes?: number) {
  meter = meterWithReader();
  const metrics = new IstioMetrics({ meterProvider: meter.meterProvider, sourceWorkload: 'productpage', sourceNamespace: 'default' });
  const { backends, source, dispatcher } = await setup(n, {
    metrics,
    ...(maxReplayBodyBytes !== undefined ? { maxReplayBodyBytes } : {}),
    peerMetadata: { name: 'productpage-v1-abc', namespace: 'default', workloadName: 'productpage', labels: { app: 'productpage', version: 'v1' } },
  });
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: V1, ports: backends.map((b) => b.port), cluster: { lb_policy: 'ROUND_ROBIN', ...cluster } }],
    routes: [{ match: { prefix: '/' }, route: { cluster: V1, ...route } }],
  });
  return { backends, source, dispatcher, reader: meter.reader };
}

const requestsTotal = (reader: CollectingReader) => collectPoints(reader, 'istio_requests_total');

describe('Istio standard metrics through the real dispatcher', () => {
  it('istio_requests_total and istio_request_duration_milliseconds: Istio names, the full label set, one count per call', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(1);
    await many(3, 3, () => get(dispatcher, '/reviews/1'));
    const expectedLabels = {
      reporter: 'source',
      source_workload: 'productpage',
      source_workload_namespace: 'default',
      source_app: 'unknown',
      source_version: 'unknown',
      source_cluster: 'unknown',
      source_principal: 'unknown',
      destination_workload: 'unknown',
      destination_workload_namespace: 'default',
      destination_principal: 'unknown',
      destination_app: 'unknown',
      destination_version: 'v1',
      destination_service: HOST,
      destination_service_name: 'reviews',
      destination_service_namespace: 'default',
      destination_cluster: 'unknown',
      request_protocol: 'http',
      response_code: '200',
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: 'unknown',
    };
    // Recorded when each response stream completes, so poll briefly after the bodies are read.
    await eventually(async () => (await requestsTotal(reader)).some((p) => p.value === 3));
    expect(await requestsTotal(reader)).toEqual([{ attributes: expectedLabels, value: 3 }]);
    const durations = await collectPoints(reader, 'istio_request_duration_milliseconds');
    expect(durations).toHaveLength(1);
    expect(durations[0]!.attributes).toEqual(expectedLabels);
    expect(durations[0]!.value).toBe(3);
    expect(durations[0]!.sum).toBeGreaterThan(0);
    expect(await collectPoints(reader, 'meshlet_retries_total')).toEqual([]);

    // peerMetadata: the Istio metadata exchange headers a server-side sidecar decodes for its source_* labels.
    const headers = backends[0]!.seen[0]!.headers;
    expect(headers['x-envoy-peer-metadata-id']).toBe('sidecar~127.0.0.1~productpage-v1-abc.default~default.svc.cluster.local');
    const Struct = envoyRoot().lookupType('google.protobuf.Struct');
    const decoded = Struct.toObject(Struct.decode(Buffer.from(String(headers['x-envoy-peer-metadata']), 'base64'))) as { fields: Record<string, Record<string, unknown>> };
    expect(Object.values(decoded.fields['WORKLOAD_NAME']!)).toEqual(['productpage']);
    expect(Object.values(decoded.fields['NAMESPACE']!)).toEqual(['default']);
  });

  it('a retried call counts once (200) and once in meshlet_retries_total{reason="5xx"}', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(2, {}, { retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, retry_host_predicate: [PREVIOUS_HOSTS] } });
    const [bad] = backends as [Backend, Backend];
    bad.behave((_q, res) => res.writeHead(503).end('down'));
    // Round robin: of two calls at least one starts on the failing host.
    expect((await many(2, 1, () => get(dispatcher))).map((r) => r.status)).toEqual([200, 200]);
    const retries = bad.seen.length;
    expect(retries).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await requestsTotal(reader)).some((p) => p.value === 2));
    const points = await requestsTotal(reader);
    expect(points.map((p) => [p.attributes['response_code'], p.attributes['response_flags'], p.value])).toEqual([['200', '-', 2]]);
    expect(await collectPoints(reader, 'meshlet_retries_total')).toEqual([{ attributes: { cluster: V1, reason: '5xx' }, value: retries }]);
  });

  it('a route timeout is response_code 504, response_flags UT', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(1, {}, { timeout: '0.1s' });
    backends[0]!.behave(() => {}); // never answers
    expect((await get(dispatcher)).status).toBe(504);
    await eventually(async () => (await requestsTotal(reader)).length === 1);
    const [point] = await requestsTotal(reader);
    expect([point!.attributes['response_code'], point!.attributes['response_flags'], point!.attributes['destination_version'], point!.value]).toEqual(['504', 'UT', 'v1', 1]);
    const [duration] = await collectPoints(reader, 'istio_request_duration_milliseconds');
    expect(duration!.sum).toBeGreaterThanOrEqual(95);
  });

  it('a circuit-breaker overflow is response_code 503, response_flags UO, next to the 200 that held the slot', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(1, { circuit_breakers: { thresholds: [{ max_requests: 1 }] } });
    const release: Array<() => void> = [];
    backends[0]!.behave((_q, res) => release.push(() => res.writeHead(200).end('ok')));
    const held = get(dispatcher);
    await eventually(() => release.length === 1);
    expect((await get(dispatcher)).status).toBe(503);
    release[0]!();
    expect((await held).status).toBe(200);
    await eventually(async () => (await requestsTotal(reader)).length === 2);
    const byCode = Object.fromEntries((await requestsTotal(reader)).map((p) => [`${p.attributes['response_code']} ${p.attributes['response_flags']}`, p.value]));
    expect(byCode).toEqual({ '200 -': 1, '503 UO': 1 });
  });
});

/** A chunked response (no content-length): the sizes can only come from counting what streamed. */
function chunked(backend: Backend, parts: readonly string[]): void {
  backend.behave((_q, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (const p of parts) res.write(p);
    res.end();
  });
}

async function sizes(reader: CollectingReader): Promise<{ requests: Point[]; request: Point[]; response: Point[] }> {
  return {
    requests: await collectPoints(reader, 'istio_requests_total'),
    request: await collectPoints(reader, 'istio_request_bytes'),
    response: await collectPoints(reader, 'istio_response_bytes'),
  };
}

/**
 * istio_request_bytes and istio_response_bytes: body bytes as they streamed (a chunked response
 * has no content-length to read), the request body once per logical call however many attempts
 * sent it, with istio_requests_total's label set.
 */
describe('istio_request_bytes / istio_response_bytes through the real dispatcher', () => {
  it('records body bytes as sent and received, with the istio_requests_total labels', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(1);
    const parts = ['first chunk;', 'ünïcödé;', 'x'.repeat(5000)];
    chunked(backends[0]!, parts);
    const body = 'naïve request body ✓';
    const reply = await get(dispatcher, '/ratings/1', { 'content-type': 'text/plain' }, { method: 'POST', body });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBeUndefined();
    const responseBytes = Buffer.byteLength(parts.join(''));
    expect(Buffer.byteLength(reply.body)).toBe(responseBytes);

    await eventually(async () => (await collectPoints(reader, 'istio_response_bytes')).length === 1);
    const { requests, request, response } = await sizes(reader);
    expect(requests).toHaveLength(1);
    const labels = requests[0]!.attributes;
    expect(labels['reporter']).toBe('source');
    expect(labels['source_workload']).toBe('productpage');
    expect(labels['destination_service']).toBe(HOST);
    // One sample each (histogram count 1) whose sum is the exact byte count (UTF-8 bytes, not characters).
    expect(request).toEqual([{ attributes: labels, value: 1, sum: Buffer.byteLength(body) }]);
    expect(response).toEqual([{ attributes: labels, value: 1, sum: responseBytes }]);
  });

  it('a GET sends 0 request body bytes', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(1);
    chunked(backends[0]!, ['ok']);
    await get(dispatcher, '/');
    await eventually(async () => (await collectPoints(reader, 'istio_response_bytes')).length === 1);
    const { request, response } = await sizes(reader);
    expect(request.map((p) => [p.value, p.sum])).toEqual([[1, 0]]);
    expect(response.map((p) => [p.value, p.sum])).toEqual([[1, 2]]);
  });

  it('a retried call counts its request body once and only the response the caller got', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(2, {}, {
      retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, retry_host_predicate: [PREVIOUS_HOSTS] },
    });
    const [bad, good] = backends as [Backend, Backend];
    bad.behave((_q, res) => res.writeHead(503).end('a long error body that is not what the caller gets'));
    chunked(good, ['good', '!']);
    const body = 'retry me';
    // Round robin: of two calls at least one starts on the failing host and is retried on the good one.
    const replies = await many(2, 1, () => get(dispatcher, '/', {}, { method: 'PUT', body }));
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [200, 'good!'],
      [200, 'good!'],
    ]);
    expect(bad.seen.length).toBeGreaterThanOrEqual(1);
    // The retried call's body went out twice; it is one request of that size.
    expect(bad.seen.length + good.seen.length).toBeGreaterThan(2);
    await eventually(async () => (await collectPoints(reader, 'istio_response_bytes')).some((p) => p.value === 2));
    const { request, response } = await sizes(reader);
    expect(request.map((p) => [p.value, p.sum])).toEqual([[2, 2 * body.length]]);
    expect(response.map((p) => [p.value, p.sum])).toEqual([[2, 2 * 'good!'.length]]);
  });

  it('a streamed request body larger than the replay buffer is counted as it is sent', async () => {
    const { backends, dispatcher, reader } = await meshWithMetrics(1, {}, {}, 64);
    chunked(backends[0]!, ['done']);
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100 + i, 0x61 + i));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const reply = await get(dispatcher, '/upload', { 'content-type': 'application/octet-stream' }, { method: 'POST', body: Readable.from(chunks) });
    expect(reply.status).toBe(200);
    expect(backends[0]!.seen[0]!.body.length).toBe(total);
    await eventually(async () => (await collectPoints(reader, 'istio_request_bytes')).length === 1);
    const { request } = await sizes(reader);
    expect(request.map((p) => [p.value, p.sum])).toEqual([[1, total]]);
  });

  it('local replies count the bytes the caller got: a route timeout (504 UT) and a direct_response', async () => {
    const timedOut = await meshWithMetrics(1, {}, { timeout: '0.1s' });
    timedOut.backends[0]!.behave(() => {}); // never answers
    const ut = await get(timedOut.dispatcher);
    expect(ut.status).toBe(504);
    expect(ut.body.length).toBeGreaterThan(0);
    await eventually(async () => (await collectPoints(timedOut.reader, 'istio_response_bytes')).length === 1);
    expect((await sizes(timedOut.reader)).response.map((p) => [p.value, p.sum])).toEqual([[1, Buffer.byteLength(ut.body)]]);

    const direct = await meshWithMetrics(1);
    applyMesh(direct.source, {
      target: TARGET,
      clusters: [{ name: V1, ports: direct.backends.map((b) => b.port) }],
      routes: [{ match: { prefix: '/' }, direct_response: { status: 418, body: { inline_string: 'short and stout' } } }],
    });
    await eventually(async () => (await get(direct.dispatcher)).status === 418);
    await eventually(async () => (await collectPoints(direct.reader, 'istio_response_bytes')).some((p) => p.attributes['response_code'] === '418'));
    const teapots = (await sizes(direct.reader)).response.filter((p) => p.attributes['response_code'] === '418');
    expect(teapots.map((p) => (p.sum ?? 0) / p.value)).toEqual(['short and stout'.length]);
  });
});
