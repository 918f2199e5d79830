import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { IstioMetrics, Mesh } from '@meshlet/core';
import { envoyRoot, StaticResourceSource } from '@meshlet/xds-client';
import { meshClientOptions } from '@meshlet/grpc';
import { startBackend, type GrpcBackend } from './helpers/backends.js';
import { EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';
import { applyMesh } from '../../http/test/helpers/meshConfig.js';
import { eventually } from '../../http/test/helpers/harness.js';
import { collectPoints, meterWithReader, type CollectingReader } from '../../http/test/helpers/otel.js';

/**
 * The `metrics` and `peerMetadata` options of the MeshChannel, over a real grpc-js server on
 * 127.0.0.1 and a real sdk-metrics reader: Istio's metadata exchange headers in every attempt's
 * metadata, and istio_requests_total / istio_request_bytes / istio_response_bytes with the gRPC
 * labels (request_protocol grpc, grpc_response_status, response_code). No global OTel state.
 */
const HOST = 'echo.default.svc.cluster.local';
const TARGET = `${HOST}:50051`;
/** gRPC's 5-byte message prefix (flag + length), counted in the sizes as a sidecar counts DATA bytes. */
const FRAME = 5;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Fixture {
  readonly backend: GrpcBackend;
  readonly client: EchoClient;
  readonly reader: CollectingReader;
}

/** One backend behind a route that retries `unavailable` once; the channel has metrics and peer metadata. */
async function channelWithMetrics(): Promise<Fixture> {
  const backend = await startBackend('b0');
  const source = new StaticResourceSource();
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'outbound|50051||echo.default.svc.cluster.local', ports: [backend.port] }],
    routes: [
      {
        match: { prefix: '/' },
        route: { cluster: 'outbound|50051||echo.default.svc.cluster.local', retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } },
      },
    ],
  });
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 5000 });
  const { meterProvider, reader } = meterWithReader();
  const metrics = new IstioMetrics({ meterProvider, requestProtocol: 'grpc', sourceWorkload: 'frontend', sourceNamespace: 'default' });
  const options = meshClientOptions(mesh, `xds:///${TARGET}`, {
    metrics,
    tracing: false,
    peerMetadata: { name: 'frontend-7f9c-x2', namespace: 'default', workloadName: 'frontend', labels: { app: 'frontend' } },
  });
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), options);
  cleanups.push(async () => {
    client.close();
    mesh.close();
    await meterProvider.shutdown();
    await backend.close();
  });
  return { backend, client, reader };
}

/** The string fields of an x-envoy-peer-metadata header (base64 google.protobuf.Struct). */
function peerFields(header: unknown): Record<string, unknown> {
  const Struct = envoyRoot().lookupType('google.protobuf.Struct');
  const decoded = Struct.toObject(Struct.decode(Buffer.from(String(header), 'base64'))) as { fields: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(decoded.fields).map(([k, v]) => [k, Object.values(v)[0]]));
}

describe('gRPC metrics and peer metadata options of the MeshChannel', () => {
  it('a retried unary call: peer metadata on both attempts; one istio_requests_total with grpc labels; sizes once per call', async () => {
    const { backend, client, reader } = await channelWithMetrics();
    let failuresLeft = 1;
    backend.behave((_call, callback) => {
      if (failuresLeft-- > 0) callback({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
      else callback(null, Buffer.from('pong!'));
    });
    expect(await unary(client, { body: 'ping' })).toMatchObject({ ok: true, body: 'pong!' });
    expect(backend.seen).toHaveLength(2);

    for (const seen of backend.seen) {
      expect(seen.metadata.get('x-envoy-peer-metadata-id')).toEqual(['sidecar~127.0.0.1~frontend-7f9c-x2.default~default.svc.cluster.local']);
      const fields = peerFields(seen.metadata.get('x-envoy-peer-metadata')[0]);
      expect([fields['WORKLOAD_NAME'], fields['NAMESPACE'], fields['NAME']]).toEqual(['frontend', 'default', 'frontend-7f9c-x2']);
    }

    // Recorded when the stream's trailers arrive, which may follow the callback by a tick.
    await eventually(async () => (await collectPoints(reader, 'istio_requests_total')).length === 1);
    const [requests] = await collectPoints(reader, 'istio_requests_total');
    expect(requests!.value).toBe(1);
    expect(requests!.attributes).toMatchObject({
      reporter: 'source',
      source_workload: 'frontend',
      destination_service: HOST,
      destination_service_name: 'echo',
      destination_service_namespace: 'default',
      request_protocol: 'grpc',
      response_code: '200',
      grpc_response_status: String(grpc.status.OK),
      response_flags: '-',
    });
    expect(await collectPoints(reader, 'meshlet_retries_total')).toEqual([{ attributes: { cluster: 'outbound|50051||echo.default.svc.cluster.local', reason: 'unavailable' }, value: 1 }]);
    // The request went out twice but is one request of its size; the response is the one the caller got.
    expect(await collectPoints(reader, 'istio_request_bytes')).toEqual([{ attributes: requests!.attributes, value: 1, sum: 'ping'.length + FRAME }]);
    expect(await collectPoints(reader, 'istio_response_bytes')).toEqual([{ attributes: requests!.attributes, value: 1, sum: 'pong!'.length + FRAME }]);
  });

  it('a call the server fails carries its gRPC status in grpc_response_status (response_code stays 200)', async () => {
    const { backend, client, reader } = await channelWithMetrics();
    backend.behave((_call, callback) => callback({ code: grpc.status.PERMISSION_DENIED, details: 'no' }));
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.PERMISSION_DENIED });
    await eventually(async () => (await collectPoints(reader, 'istio_requests_total')).length === 1);
    const [requests] = await collectPoints(reader, 'istio_requests_total');
    expect([requests!.attributes['response_code'], requests!.attributes['grpc_response_status'], requests!.value]).toEqual(['200', String(grpc.status.PERMISSION_DENIED), 1]);
    // A Trailers-Only reply has no message: 0 response bytes.
    expect((await collectPoints(reader, 'istio_response_bytes')).map((p) => [p.value, p.sum])).toEqual([[1, 0]]);
  });

  it('a server stream counts every message it delivered, each with its frame prefix', async () => {
    const { client, reader } = await channelWithMetrics();
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.Stream(Buffer.from('4'));
      stream.on('data', (m: Buffer) => received.push(m.toString()));
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    expect(received).toEqual(['b0:0', 'b0:1', 'b0:2', 'b0:3']);
    await eventually(async () => (await collectPoints(reader, 'istio_response_bytes')).length === 1);
    const expected = received.reduce((n, m) => n + m.length + FRAME, 0);
    expect((await collectPoints(reader, 'istio_response_bytes')).map((p) => [p.value, p.sum])).toEqual([[1, expected]]);
    expect((await collectPoints(reader, 'istio_request_bytes')).map((p) => [p.value, p.sum])).toEqual([[1, 1 + FRAME]]);
  });
});
