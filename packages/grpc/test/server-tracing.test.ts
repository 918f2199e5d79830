import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ListenerResource, RouteConfigurationResource, StaticResourceSource, silentLogger } from '@meshlet/xds-client';
import { MeshServer, MeshServerCredentials } from '../src/server/index.js';
import { GREETER, GreeterClientConstructor, bindAsync, call, greeterImplementation, rbacFilter, routeConfig, serverListener, until, type GreeterClient } from './serverFixtures.js';

/** The xDS-managed server continues the caller's trace: one SERVER span per call (issue: observability). */
describe('MeshServer tracing', () => {
  const exporter = new InMemorySpanExporter();
  let provider: NodeTracerProvider;
  let server: MeshServer;
  let client: GreeterClient;

  beforeAll(async () => {
    provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    const source = new StaticResourceSource();
    server = new MeshServer({ source, listenerResourceNameTemplate: 'xds.istio.io/grpc/lds/inbound/%s', logger: silentLogger });
    server.addService(GREETER, greeterImplementation('s1'));
    const port = await bindAsync(server, '127.0.0.1:0', new MeshServerCredentials(grpc.ServerCredentials.createInsecure()));
    const deny = rbacFilter('DENY', { 'no-admin': { permissions: [{ url_path: { path: { exact: '/meshlet.test.Greeter/Admin' } } }], principals: [{ any: true }] } });
    source.replaceFromObjects(RouteConfigurationResource, [routeConfig('inbound-routes')]);
    source.replaceFromObjects(ListenerResource, [serverListener('127.0.0.1', port, [{ rds: 'inbound-routes', httpFilters: [deny] }])]);
    await until(() => server.isServing(port));
    client = new GreeterClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    server.forceShutdown();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('continues the traceparent it receives with a SERVER span carrying the status, rejections included', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const metadata = { traceparent: `00-${traceId}-00f067aa0ba902b7-01` };
    expect((await call(client, 'Hello', { metadata })).code).toBe(grpc.status.OK);
    expect((await call(client, 'Admin', { metadata })).code).toBe(grpc.status.PERMISSION_DENIED);
    await until(() => exporter.getFinishedSpans().length === 2);
    const spans = exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      kind: s.kind,
      traceId: s.spanContext().traceId,
      parent: s.parentSpanContext?.spanId,
      code: s.attributes['rpc.grpc.status_code'],
    }));
    expect(spans).toEqual([
      { name: 'meshlet.test.Greeter/Hello', kind: SpanKind.SERVER, traceId, parent: '00f067aa0ba902b7', code: grpc.status.OK },
      { name: 'meshlet.test.Greeter/Admin', kind: SpanKind.SERVER, traceId, parent: '00f067aa0ba902b7', code: grpc.status.PERMISSION_DENIED },
    ]);
  });
});
