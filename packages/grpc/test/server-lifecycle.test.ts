import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenerResource, RouteConfigurationResource, StaticResourceSource, silentLogger } from '@meshlet/xds-client';
import { MeshServer, MeshServerCredentials, type ServingStatus } from '../src/server/index.js';
import { GREETER, GreeterClientConstructor, bindAsync, call, greeterImplementation, routeConfig, serverListener, tryShutdown, until, type GreeterClient } from './serverFixtures.js';

/** gRFC A36 serving lifecycle: no Listener = not serving, Listener = serving, removal drains. */
describe('MeshServer serving lifecycle (gRFC A36)', () => {
  let source: StaticResourceSource;
  let server: MeshServer;
  let statuses: { address: string; status: ServingStatus }[];
  const clients: GreeterClient[] = [];

  async function start(drainGraceTimeMs = 5000): Promise<number> {
    source = new StaticResourceSource();
    statuses = [];
    server = new MeshServer({
      source,
      listenerResourceNameTemplate: 'xds.istio.io/grpc/lds/inbound/%s',
      onServingStatus: (address, status) => statuses.push({ address, status }),
      drainGraceTimeMs,
      logger: silentLogger,
    });
    server.addService(GREETER, greeterImplementation('s1'));
    return bindAsync(server, '127.0.0.1:0', new MeshServerCredentials(grpc.ServerCredentials.createInsecure()));
  }

  function client(port: number): GreeterClient {
    // A local subchannel pool: a fresh client must not inherit another one's connection backoff.
    const c = new GreeterClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(c);
    return c;
  }

  function setListener(port: number, listener = serverListener('127.0.0.1', port, [{ rds: 'inbound-routes' }])): void {
    source.replaceFromObjects(RouteConfigurationResource, [routeConfig('inbound-routes')]);
    source.replaceFromObjects(ListenerResource, [listener]);
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    server.forceShutdown();
  });

  it('refuses calls before the Listener arrives and serves once it does', async () => {
    const port = await start();
    expect(server.listenerResourceNames()).toEqual(new Map([[`127.0.0.1:${port}`, `xds.istio.io/grpc/lds/inbound/127.0.0.1:${port}`]]));
    await until(() => statuses.length === 1);
    expect(statuses[0]).toEqual({ address: `127.0.0.1:${port}`, status: { code: grpc.status.UNAVAILABLE, details: expect.stringContaining('does not exist') } });
    expect((await call(client(port), 'Hello')).code).toBe(grpc.status.UNAVAILABLE);

    setListener(port);
    await until(() => statuses.length === 2);
    expect(statuses[1]!.status).toEqual({ code: grpc.status.OK, details: 'serving' });
    expect(server.isServing(port)).toBe(true);
    expect(await call(client(port), 'Hello')).toEqual({ code: grpc.status.OK, body: 's1:Hello', details: '' });
  });

  it('stops serving when the Listener is removed, letting an in-flight call finish', async () => {
    const port = await start();
    setListener(port);
    await until(() => server.isServing(port));
    const c = client(port);
    expect((await call(c, 'Hello')).code).toBe(grpc.status.OK);

    const inFlight = call(c, 'Slow', { body: '300' });
    await new Promise((r) => setTimeout(r, 50));
    source.replace(ListenerResource, {});
    await until(() => statuses.at(-1)!.status.code === grpc.status.UNAVAILABLE);
    expect(statuses.at(-1)!.status.details).toContain('does not exist');
    // The drained connection finishes its call; new connections are closed at once.
    expect(await inFlight).toEqual({ code: grpc.status.OK, body: 's1:Slow', details: '' });
    expect((await call(client(port), 'Hello')).code).toBe(grpc.status.UNAVAILABLE);
  });

  it('reports an invalid first Listener (address not the bound one) as not serving', async () => {
    const port = await start();
    // Wrong port in the address: A36 requires the Listener to describe the bound address.
    setListener(port, { ...serverListener('127.0.0.1', port, [{}]), address: { socket_address: { address: '127.0.0.1', port_value: port === 1 ? 2 : port - 1 } } });
    await until(() => statuses.some((s) => s.status.details.includes('does not match')));
    expect(statuses.at(-1)!.status.code).toBe(grpc.status.UNAVAILABLE);
    expect(server.isServing(port)).toBe(false);
  });

  it('ignores an invalid update while serving', async () => {
    const port = await start();
    setListener(port);
    await until(() => server.isServing(port));
    const good = statuses.length;
    const bad = { ...serverListener('127.0.0.1', port, [{}]), address: { socket_address: { address: '127.0.0.2', port_value: port } } };
    source.replaceFromObjects(ListenerResource, [bad]);
    await new Promise((r) => setTimeout(r, 20));
    expect(statuses.length).toBe(good);
    expect(server.isServing(port)).toBe(true);
    expect((await call(client(port), 'Hello')).code).toBe(grpc.status.OK);
  });

  it('drains connections of the previous Listener on a change, new connections use the new one', async () => {
    const port = await start();
    setListener(port);
    await until(() => server.isServing(port));
    const c = client(port);
    expect((await call(c, 'Hello')).code).toBe(grpc.status.OK);
    const inFlight = call(c, 'Slow', { body: '300' });
    await new Promise((r) => setTimeout(r, 50));
    // New Listener: Admin is no longer routed.
    source.replaceFromObjects(RouteConfigurationResource, [routeConfig('inbound-routes'), routeConfig('v2', [{ match: { path: '/meshlet.test.Greeter/Hello' } }])]);
    source.replaceFromObjects(ListenerResource, [serverListener('127.0.0.1', port, [{ rds: 'v2' }])]);
    expect(await inFlight).toEqual({ code: grpc.status.OK, body: 's1:Slow', details: '' });
    const fresh = client(port);
    expect((await call(fresh, 'Hello')).code).toBe(grpc.status.OK);
    expect(await call(fresh, 'Admin')).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'no matching route' });
    // Still one "serving" report: a Listener change is not a serving-state change.
    expect(statuses.filter((s) => s.status.code === grpc.status.OK)).toHaveLength(1);
  });

  it('tryShutdown waits for in-flight calls; forceShutdown aborts them', async () => {
    const port = await start();
    setListener(port);
    await until(() => server.isServing(port));
    const c = client(port);
    expect((await call(c, 'Hello')).code).toBe(grpc.status.OK);
    const inFlight = call(c, 'Slow', { body: '200' });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await tryShutdown(server);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect((await inFlight).code).toBe(grpc.status.OK);

    const port2 = await start();
    setListener(port2);
    await until(() => server.isServing(port2));
    const c2 = client(port2);
    expect((await call(c2, 'Hello')).code).toBe(grpc.status.OK);
    const aborted = call(c2, 'Slow', { body: '2000' });
    await new Promise((r) => setTimeout(r, 50));
    server.forceShutdown();
    expect((await aborted).code).not.toBe(grpc.status.OK);
  });
});
