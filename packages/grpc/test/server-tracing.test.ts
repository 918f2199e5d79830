import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ListenerResource, RouteConfigurationResource, StaticResourceSource, silentLogger } from '@meshlet/xds-client';
import { MeshServer, MeshServerCredentials } from '../src/server/index.js';
import { GREETER, GreeterClientConstructor, bindAsync, call, greeterImplementation, rbacFilter, routeConfig, serverListener, until, type GreeterClient } from './serverFixtures.js';

const identity = (value: Buffer): Buffer => value;
function method(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path: `/meshlet.test.Work/${name}`, requestStream, responseStream, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

/** One method of each kind; every handler makes spans the way application code does: no explicit parent. */
const WORK = {
  Unary: method('Unary', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
};
type WorkClient = grpc.Client & {
  Unary(req: Buffer, md: grpc.Metadata, cb: grpc.requestCallback<Buffer>): grpc.ClientUnaryCall;
  ServerStream(req: Buffer, md: grpc.Metadata): grpc.ClientReadableStream<Buffer>;
  ClientStream(md: grpc.Metadata, cb: grpc.requestCallback<Buffer>): grpc.ClientWritableStream<Buffer>;
  Bidi(md: grpc.Metadata): grpc.ClientDuplexStream<Buffer, Buffer>;
};
const WorkClientConstructor = grpc.makeGenericClientConstructor(WORK, 'Work') as unknown as new (target: string, credentials: grpc.ChannelCredentials) => WorkClient;

/** A span of the application's own, parented by whatever context is active where it starts. */
function appSpan(name: string): void {
  trace.getTracer('app').startSpan(name).end();
}

const workImplementation: grpc.UntypedServiceImplementation = {
  Unary: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    appSpan('unary.body');
    // An asynchronous continuation of the handler stays in the call's context too.
    setTimeout(() => {
      appSpan('unary.later');
      cb(null, Buffer.from('ok'));
    }, 5);
  },
  ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    appSpan('server-stream.body');
    call.write(Buffer.from('a'));
    call.end();
  },
  ClientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    let n = 0;
    call.on('data', () => appSpan(`client-stream.data.${++n}`));
    call.on('end', () => {
      appSpan('client-stream.end');
      cb(null, Buffer.from(String(n)));
    });
  },
  Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on('data', (m: Buffer) => {
      appSpan(`bidi.data.${m.toString()}`);
      call.write(m);
    });
    call.on('end', () => {
      appSpan('bidi.end');
      call.end();
    });
  },
};

/** The xDS-managed server continues the caller's trace: one SERVER span per call (issue: observability). */
describe('MeshServer tracing', () => {
  const exporter = new InMemorySpanExporter();
  let provider: NodeTracerProvider;
  let server: MeshServer;
  let client: GreeterClient;
  let work: WorkClient;

  beforeAll(async () => {
    provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    const source = new StaticResourceSource();
    server = new MeshServer({ source, listenerResourceNameTemplate: 'xds.istio.io/grpc/lds/inbound/%s', logger: silentLogger });
    server.addService(GREETER, greeterImplementation('s1'));
    server.addService(WORK, workImplementation);
    const port = await bindAsync(server, '127.0.0.1:0', new MeshServerCredentials(grpc.ServerCredentials.createInsecure()));
    const deny = rbacFilter('DENY', { 'no-admin': { permissions: [{ url_path: { path: { exact: '/meshlet.test.Greeter/Admin' } } }], principals: [{ any: true }] } });
    source.replaceFromObjects(RouteConfigurationResource, [routeConfig('inbound-routes')]);
    source.replaceFromObjects(ListenerResource, [serverListener('127.0.0.1', port, [{ rds: 'inbound-routes', httpFilters: [deny] }])]);
    await until(() => server.isServing(port));
    client = new GreeterClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    work = new WorkClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    work.close();
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

  it('makes the SERVER span the active context in handlers of every kind and in their stream listeners', async () => {
    exporter.reset();
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const md = (): grpc.Metadata => {
      const m = new grpc.Metadata();
      m.set('traceparent', `00-${traceId}-b7ad6b7169203331-01`);
      return m;
    };
    await new Promise<void>((resolve, reject) => work.Unary(Buffer.from('x'), md(), (err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => {
      const s = work.ServerStream(Buffer.from('x'), md());
      s.on('data', () => undefined);
      s.on('error', reject);
      s.on('end', resolve);
    });
    await new Promise<void>((resolve, reject) => {
      const s = work.ClientStream(md(), (err) => (err ? reject(err) : resolve()));
      s.write(Buffer.from('1'));
      s.write(Buffer.from('2'));
      s.end();
    });
    await new Promise<void>((resolve, reject) => {
      const s = work.Bidi(md());
      s.on('data', () => undefined);
      s.on('error', reject);
      s.on('end', resolve);
      s.write(Buffer.from('1'));
      s.write(Buffer.from('2'));
      s.end();
    });
    const appSpans = ['unary.body', 'unary.later', 'server-stream.body', 'client-stream.data.1', 'client-stream.data.2', 'client-stream.end', 'bidi.data.1', 'bidi.data.2', 'bidi.end'];
    // Four SERVER spans and the app's spans; a server span ends as its status is sent, possibly after the client saw it.
    await until(() => exporter.getFinishedSpans().length >= 4 + appSpans.length, 10_000);
    const finished = exporter.getFinishedSpans();
    const serverSpans = new Map(finished.filter((s) => s.kind === SpanKind.SERVER).map((s) => [s.spanContext().spanId, s.name]));
    expect([...serverSpans.values()].sort()).toEqual(['meshlet.test.Work/Bidi', 'meshlet.test.Work/ClientStream', 'meshlet.test.Work/ServerStream', 'meshlet.test.Work/Unary']);
    for (const s of finished.filter((x) => x.kind === SpanKind.SERVER)) {
      expect(s.spanContext().traceId).toBe(traceId);
      expect(s.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    }
    const parentOf = (name: string) => {
      const s = finished.find((x) => x.name === name);
      return s && { traceId: s.spanContext().traceId, parent: serverSpans.get(s.parentSpanContext?.spanId ?? '') };
    };
    expect(Object.fromEntries(appSpans.map((n) => [n, parentOf(n)]))).toEqual({
      'unary.body': { traceId, parent: 'meshlet.test.Work/Unary' },
      'unary.later': { traceId, parent: 'meshlet.test.Work/Unary' },
      'server-stream.body': { traceId, parent: 'meshlet.test.Work/ServerStream' },
      'client-stream.data.1': { traceId, parent: 'meshlet.test.Work/ClientStream' },
      'client-stream.data.2': { traceId, parent: 'meshlet.test.Work/ClientStream' },
      'client-stream.end': { traceId, parent: 'meshlet.test.Work/ClientStream' },
      'bidi.data.1': { traceId, parent: 'meshlet.test.Work/Bidi' },
      'bidi.data.2': { traceId, parent: 'meshlet.test.Work/Bidi' },
      'bidi.end': { traceId, parent: 'meshlet.test.Work/Bidi' },
    });
  });
});
