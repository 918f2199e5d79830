import { afterEach, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import {
  ClusterLoadAssignmentResource,
  ClusterResource,
  ListenerResource,
  RouteConfigurationResource,
  StaticResourceSource,
  encodeAny,
  fromProto3Json,
  type ClientConfigDump,
  type ResourceType,
} from '@meshlet/xds-client';
import { Mesh } from '../../src/mesh/Mesh.js';
import { startAdminServer, type AdminServer } from '../../src/telemetry/AdminServer.js';
import { bindClusterMetrics } from '../../src/telemetry/ClusterMetrics.js';
import { bindXdsClientMetrics } from '../../src/telemetry/XdsClientMetrics.js';
import type { MeshDebugSnapshot } from '../../src/telemetry/MeshDebugSnapshot.js';
import { edsCluster, endpoints, listener, routeConfig } from '../mesh/meshFixtures.js';
import { RecordingMeterProvider } from './RecordingMeterProvider.js';

const TARGET = 'reviews.test:9080';
const RDS = 'outbound|9080||reviews.test';
const V1 = 'outbound|9080|v1|reviews.test';

function put<T>(source: StaticResourceSource, type: ResourceType<T>, objects: Record<string, unknown>[]): void {
  source.replaceFromObjects(type, objects.map((o) => fromProto3Json(type.typeUrl, o)));
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function readyMesh(): Promise<Mesh> {
  const source = new StaticResourceSource();
  put(source, ClusterLoadAssignmentResource, [endpoints(V1, [10001, 10002])]);
  put(source, ClusterResource, [edsCluster(V1, { circuit_breakers: { thresholds: [{ max_requests: 1 }] } })]);
  put(source, RouteConfigurationResource, [routeConfig(RDS, TARGET, [[V1, 100]])]);
  put(source, ListenerResource, [listener(TARGET, RDS)]);
  const mesh = await Mesh.create({ source });
  cleanups.push(() => mesh.close());
  const state = await mesh.resolve(TARGET);
  expect(state.kind).toBe('ready');
  return mesh;
}

/** A config dump holding a Secret with an inline private key and a NACKed cluster. */
function dumpWithSecret(): ClientConfigDump {
  const secret = encodeAny('envoy.extensions.transport_sockets.tls.v3.Secret', {
    name: 'default',
    tls_certificate: { certificate_chain: { inline_string: 'CERT' }, private_key: { inline_string: '-----BEGIN PRIVATE KEY-----secret' } },
  });
  return {
    node: { id: 'sidecar~127.0.0.1~app.default~default.svc.cluster.local' },
    generic_xds_configs: [
      { type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name: 'default', version_info: '1', xds_config: secret, client_status: 'ACKED' },
      {
        type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
        name: 'bad',
        version_info: '3',
        client_status: 'NACKED',
        error_state: { details: 'max_ejection_percent over 100', version_info: '4', last_update_attempt: { seconds: 1_700_000_000, nanos: 0 } },
      },
    ],
  };
}

function get(port: number, path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
    });
    req.on('error', reject).end();
  });
}

describe('startAdminServer', () => {
  it('serves the debug snapshot at GET /debug/meshlet on loopback, secrets redacted', async () => {
    const mesh = await readyMesh();
    const state = await mesh.resolve(TARGET);
    if (state.kind !== 'ready') throw new Error('not ready');
    const runtime = state.snapshot.cluster(V1)!;
    runtime.hosts()[0]!.activeRequests = 2;
    expect(runtime.breakers.tryAcquireRequest()).toBe(true);
    expect(runtime.breakers.tryAcquireRequest()).toBe(false); // max_requests 1: one overflow

    const admin: AdminServer = await startAdminServer({ mesh, xdsClient: { configDump: dumpWithSecret } });
    cleanups.push(() => admin.close());
    expect(admin.host).toBe('127.0.0.1');

    const res = await get(admin.port, '/debug/meshlet');
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/json');
    expect(res.body).not.toContain('BEGIN PRIVATE KEY');
    const body = JSON.parse(res.body) as MeshDebugSnapshot;
    expect(body.targets).toEqual({ [TARGET]: 'ready' });
    const cluster = body.clusters[V1]!;
    expect(cluster.endpoints.map((e) => [e.address, e.active_requests, e.ejected, e.health_status])).toEqual([
      ['127.0.0.1:10001', 2, false, 'UNKNOWN'],
      ['127.0.0.1:10002', 0, false, 'UNKNOWN'],
    ]);
    expect(cluster.circuit_breakers['rq_overflow']).toBe(1);
    expect(body.recent_nacks).toEqual([
      { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'bad', rejected_version: '4', version_in_use: '3', details: 'max_ejection_percent over 100', at: '2023-11-14T22:13:20.000Z' },
    ]);
    const secret = (body.config_dump!['generic_xds_configs'] as { xds_config: Record<string, any> }[])[0]!.xds_config;
    expect(secret['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret');
    expect(secret['tls_certificate'].private_key).toBe('[redacted]');
    expect(secret['tls_certificate'].certificate_chain.inline_string).toBe('CERT');

    expect((await get(admin.port, '/other')).status).toBe(404);
  });
});

describe('metric binders', () => {
  it('bindClusterMetrics observes endpoints and breaker overflows per cluster', async () => {
    const mesh = await readyMesh();
    const provider = new RecordingMeterProvider();
    const binding = bindClusterMetrics(mesh, { meterProvider: provider });
    const observed = await provider.collect();
    expect(observed.filter((m) => m.name === 'meshlet_cluster_endpoints')).toEqual([
      { name: 'meshlet_cluster_endpoints', value: 2, attributes: { cluster: V1, health_status: 'UNKNOWN', ejected: 'false' } },
    ]);
    expect(observed.find((m) => m.name === 'meshlet_circuit_breaker_overflows_total' && m.attributes['breaker'] === 'rq_overflow')?.value).toBe(0);
    binding.dispose();
    expect(await provider.collect()).toEqual([]);
  });

  it('bindXdsClientMetrics counts ACKs and NACKs by type', () => {
    const listeners = new Map<string, (e: any) => void>();
    const client = { on: (name: string, l: (e: any) => void) => (listeners.set(name, l), { dispose: () => listeners.delete(name) }) };
    const provider = new RecordingMeterProvider();
    const binding = bindXdsClientMetrics(client as never, { meterProvider: provider });
    const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
    listeners.get('ack')!({ server: 's:1', typeUrl: CDS, version: '1', nonce: 'a' });
    listeners.get('nack')!({ server: 's:1', typeUrl: CDS, version: '2', nonce: 'b', errors: ['x'] });
    expect(provider.named('meshlet_xds_acks_total')).toEqual([{ name: 'meshlet_xds_acks_total', value: 1, attributes: { type_url: CDS, server: 's:1' } }]);
    expect(provider.named('meshlet_xds_nacks_total')).toHaveLength(1);
    binding.dispose();
    expect(listeners.size).toBe(0);
  });
});
