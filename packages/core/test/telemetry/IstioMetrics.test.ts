import { describe, expect, it } from 'vitest';
import { CallEngine } from '../../src/call/CallEngine.js';
import { IstioMetrics } from '../../src/telemetry/IstioMetrics.js';
import { combineObservers } from '../../src/telemetry/CompositeObserver.js';
import { parseIstioClusterName } from '../../src/telemetry/IstioClusterName.js';
import { CLUSTER, FakeTransport, request, routeConfig, snapshot, type Step } from './engineHarness.js';
import { RecordingMeterProvider } from './RecordingMeterProvider.js';

async function run(metrics: IstioMetrics, steps: Step[], kind: 'http' | 'grpc' = 'http', retryOn = '5xx,connect-failure') {
  const engine = new CallEngine({ kind, observer: metrics, random: () => 0.5 });
  await engine.execute(snapshot(routeConfig(retryOn)), request(), new FakeTransport(steps)).catch(() => undefined);
}

describe('IstioMetrics', () => {
  it('records istio_requests_total and istio_request_duration_milliseconds once per logical call with Istio labels', async () => {
    const provider = new RecordingMeterProvider();
    const metrics = new IstioMetrics({ meterProvider: provider, sourceWorkload: 'productpage-v1', sourceNamespace: 'default', sourceApp: 'productpage' });
    await run(metrics, [503, 200]);
    const requests = provider.named('istio_requests_total');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.value).toBe(1);
    expect(requests[0]!.attributes).toEqual({
      reporter: 'source',
      source_workload: 'productpage-v1',
      source_workload_namespace: 'default',
      source_app: 'productpage',
      source_version: 'unknown',
      source_cluster: 'unknown',
      source_principal: 'unknown',
      destination_workload: 'unknown',
      destination_workload_namespace: 'default',
      destination_principal: 'unknown',
      destination_app: 'unknown',
      destination_version: 'v1',
      destination_service: 'reviews.default.svc.cluster.local',
      destination_service_name: 'reviews',
      destination_service_namespace: 'default',
      destination_cluster: 'unknown',
      request_protocol: 'http',
      response_code: '200',
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: 'unknown',
    });
    const duration = provider.named('istio_request_duration_milliseconds');
    expect(duration).toHaveLength(1);
    expect(duration[0]!.value).toBeGreaterThan(0);
    expect(duration[0]!.attributes).toEqual(requests[0]!.attributes);
    expect(provider.options.get('istio_request_duration_milliseconds')?.unit).toBe('ms');
    expect(provider.options.get('istio_request_duration_milliseconds')?.advice?.explicitBucketBoundaries).toContain(25);
  });

  it('counts retries made by reason, not the final retriable outcome that was not retried', async () => {
    const provider = new RecordingMeterProvider();
    await run(new IstioMetrics({ meterProvider: provider }), ['connect-failure', 503, 503]);
    const retries = provider.named('meshlet_retries_total').map((m) => m.attributes);
    expect(retries).toEqual([
      { cluster: CLUSTER, reason: 'connect-failure' },
      { cluster: CLUSTER, reason: '5xx' },
    ]);
    const req = provider.named('istio_requests_total')[0]!.attributes;
    expect(req['response_code']).toBe('503');
    expect(req['response_flags']).toBe('URX');
  });

  it('labels failures with Envoy flags and mTLS, and gRPC calls with grpc_response_status', async () => {
    const provider = new RecordingMeterProvider();
    const metrics = new IstioMetrics({ meterProvider: provider, requestProtocol: 'grpc', isMutualTls: (c) => c === CLUSTER, sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/pp' });
    await run(metrics, [{ status: 200, grpc: 5 }], 'grpc');
    await run(metrics, ['connect-failure'], 'grpc', 'cancelled');
    const [ok, failed] = provider.named('istio_requests_total').map((m) => m.attributes);
    expect(ok).toMatchObject({ request_protocol: 'grpc', response_code: '200', grpc_response_status: '5', connection_security_policy: 'mutual_tls', source_principal: 'spiffe://cluster.local/ns/default/sa/pp' });
    expect(failed).toMatchObject({ response_code: '503', response_flags: 'UF', grpc_response_status: '' });
  });

  it('combineObservers fans out and isolates a throwing observer', async () => {
    const provider = new RecordingMeterProvider();
    const observer = combineObservers({ onCallEnd: () => { throw new Error('bad observer'); } }, new IstioMetrics({ meterProvider: provider }), undefined);
    const engine = new CallEngine({ kind: 'http', observer });
    const response = await engine.execute(snapshot(routeConfig()), request(), new FakeTransport([200]));
    expect(response.status).toBe(200);
    expect(provider.named('istio_requests_total')).toHaveLength(1);
  });
});

describe('parseIstioClusterName', () => {
  it('splits istiod cluster names and rejects others', () => {
    expect(parseIstioClusterName('outbound|9080|v1|reviews.default.svc.cluster.local')).toEqual({ direction: 'outbound', port: 9080, subset: 'v1', host: 'reviews.default.svc.cluster.local' });
    expect(parseIstioClusterName('outbound|80||a.b')?.subset).toBe('');
    expect(parseIstioClusterName('my-cluster')).toBeUndefined();
    expect(parseIstioClusterName('outbound|x|v1|h')).toBeUndefined();
  });

  it('records istio_request_bytes / istio_response_bytes from the transport counters as they are at call end, and nothing for a side not counted', async () => {
    const provider = new RecordingMeterProvider();
    const metrics = new IstioMetrics({ meterProvider: provider });
    const engine = new CallEngine({ kind: 'http', observer: metrics, random: () => 0.5 });
    // The transport's live counters: the engine hands over the object, the observer reads it when the call ends.
    const counts = { requestBodyBytes: undefined as number | undefined, responseBodyBytes: 0 as number | undefined };
    const transport = new FakeTransport([200], () => {
      counts.requestBodyBytes = 1234;
      counts.responseBodyBytes = 56;
    });
    await engine.execute(snapshot(routeConfig('5xx')), { ...request(), bytes: counts }, transport);
    const labels = provider.named('istio_requests_total')[0]!.attributes;
    expect(provider.named('istio_request_bytes')).toEqual([{ name: 'istio_request_bytes', value: 1234, attributes: labels }]);
    expect(provider.named('istio_response_bytes')).toEqual([{ name: 'istio_response_bytes', value: 56, attributes: labels }]);
    expect(provider.options.get('istio_response_bytes')?.unit).toBe('By');

    counts.requestBodyBytes = undefined; // e.g. a FormData body: size unknown
    await engine.execute(snapshot(routeConfig('5xx')), { ...request(), bytes: counts }, new FakeTransport([200]));
    await engine.execute(snapshot(routeConfig('5xx')), request(), new FakeTransport([200])); // a transport that counts nothing
    expect(provider.named('istio_requests_total')).toHaveLength(3);
    expect(provider.named('istio_request_bytes')).toHaveLength(1);
    expect(provider.named('istio_response_bytes')).toHaveLength(2);
  });

  it('label sets are reused per destination and outcome, yet follow a cluster that turns to mTLS and a different outcome', async () => {
    const provider = new RecordingMeterProvider();
    let mtls = false;
    const metrics = new IstioMetrics({ meterProvider: provider, sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/productpage', isMutualTls: () => mtls });
    await run(metrics, [200]);
    await run(metrics, [200]);
    mtls = true;
    await run(metrics, [200]);
    await run(metrics, [404]);
    const labels = provider.named('istio_requests_total').map((m) => m.attributes);
    expect(labels[1]).toBe(labels[0]); // the same object: nothing rebuilt for a repeat outcome
    expect(labels.map((l) => [l['response_code'], l['connection_security_policy'], l['source_principal']])).toEqual([
      ['200', 'unknown', 'unknown'],
      ['200', 'unknown', 'unknown'],
      ['200', 'mutual_tls', 'spiffe://cluster.local/ns/default/sa/productpage'],
      ['404', 'mutual_tls', 'spiffe://cluster.local/ns/default/sa/productpage'],
    ]);
  });
});
