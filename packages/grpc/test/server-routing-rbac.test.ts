import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListenerResource, RouteConfigurationResource, StaticResourceSource, encodeAny, type Logger } from '@meshlet/xds-client';
import { MeshServer, MeshServerCredentials } from '../src/server/index.js';
import {
  GREETER,
  GreeterClientConstructor,
  bindAsync,
  call,
  faultFilter,
  greeterImplementation,
  rbacFilter,
  routeConfig,
  serverListener,
  until,
  type ChainSpec,
  type GreeterClient,
} from './serverFixtures.js';

const HELLO = '/meshlet.test.Greeter/Hello';
const ADMIN = '/meshlet.test.Greeter/Admin';

/** Per-call admission on a MeshServer: NonForwardingAction routes (A36), RBAC (A41), fault, chain selection. */
describe('MeshServer calls: routes, RBAC, faults, filter chains', () => {
  const source = new StaticResourceSource();
  let server: MeshServer;
  let port: number;
  const debug: { message: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = { debug: (message, fields) => debug.push({ message, ...(fields ? { fields } : {}) }), info() {}, warn() {}, error() {} };
  const clients: GreeterClient[] = [];

  function client(): GreeterClient {
    const c = new GreeterClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(c);
    return c;
  }

  /** Installs a Listener (one chain unless given) and waits for the new version to serve fresh connections. */
  async function configure(chains: readonly ChainSpec[], routes: Record<string, unknown>[] = [routeConfig('rds')], defaultChain?: ChainSpec): Promise<GreeterClient> {
    source.replaceFromObjects(RouteConfigurationResource, routes);
    source.replaceFromObjects(ListenerResource, [serverListener('127.0.0.1', port, chains, defaultChain)]);
    await until(() => server.isServing(port));
    await new Promise((r) => setTimeout(r, 10));
    return client();
  }

  beforeAll(async () => {
    server = new MeshServer({ source, listenerResourceNameTemplate: 'xds.istio.io/grpc/lds/inbound/%s', logger, drainGraceTimeMs: 1000 });
    server.addService(GREETER, greeterImplementation('s'));
    port = await bindAsync(server, '127.0.0.1:0', new MeshServerCredentials(grpc.ServerCredentials.createInsecure()));
  });

  afterAll(() => {
    for (const c of clients) c.close();
    server.forceShutdown();
  });

  it('requires a route with NonForwardingAction: no route or another action fails UNAVAILABLE', async () => {
    const c = await configure([{ rds: 'rds' }], [routeConfig('rds', [{ match: { path: HELLO } }, { match: { path: ADMIN }, action: 'route' }])]);
    expect(await call(c, 'Hello')).toEqual({ code: grpc.status.OK, body: 's:Hello', details: '' });
    expect(await call(c, 'Admin')).toEqual({ code: grpc.status.UNAVAILABLE, details: 'the matched route has no NonForwardingAction' });
    expect(await call(c, 'Slow', { body: '0' })).toEqual({ code: grpc.status.UNAVAILABLE, details: 'no matching route' });
  });

  it('applies RDS updates to live connections without a drain', async () => {
    const c = await configure([{ rds: 'rds' }], [routeConfig('rds', [{ match: { path: HELLO } }])]);
    expect((await call(c, 'Admin')).code).toBe(grpc.status.UNAVAILABLE);
    source.replaceFromObjects(RouteConfigurationResource, [routeConfig('rds', [{ match: { prefix: '/meshlet.test.Greeter/' } }])]);
    expect(await call(c, 'Admin')).toEqual({ code: grpc.status.OK, body: 's:Admin', details: '' });
    source.replace(RouteConfigurationResource, {});
    expect(await call(c, 'Hello')).toEqual({ code: grpc.status.UNAVAILABLE, details: 'RouteConfiguration rds does not exist' });
  });

  it('RBAC ALLOW by path: other methods are PERMISSION_DENIED, the policy name only logged', async () => {
    const c = await configure([{ rds: 'rds', httpFilters: [rbacFilter('ALLOW', { 'hello-only': { permissions: [{ url_path: { path: { exact: HELLO } } }], principals: [{ any: true }] } })] }]);
    expect((await call(c, 'Hello')).code).toBe(grpc.status.OK);
    const denied = await call(c, 'Admin');
    expect(denied).toEqual({ code: grpc.status.PERMISSION_DENIED, details: 'RBAC: access denied' });
    expect(denied.details).not.toContain('hello-only');
    expect(debug.filter((d) => d.message.includes('RBAC')).at(-1)?.fields).toMatchObject({ path: ADMIN, filter: 'envoy.filters.http.rbac' });
  });

  it('RBAC DENY by header, then ALLOW (istiod order), with a source-IP principal', async () => {
    const deny = rbacFilter('DENY', { 'ns[default]-policy[no-canary]': { permissions: [{ header: { name: 'x-canary', string_match: { exact: 'yes' } } }], principals: [{ any: true }] } }, 'envoy.filters.http.rbac.deny');
    const allow = rbacFilter('ALLOW', { loopback: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: { value: 8 } } }] } });
    const c = await configure([{ rds: 'rds', httpFilters: [deny, allow] }]);
    expect((await call(c, 'Hello', { metadata: { 'x-canary': 'no' } })).code).toBe(grpc.status.OK);
    expect((await call(c, 'Hello', { metadata: { 'x-canary': 'yes' } })).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(debug.at(-1)?.fields).toMatchObject({ filter: 'envoy.filters.http.rbac.deny', policy: 'ns[default]-policy[no-canary]' });
    // An ALLOW that matches nobody denies everything.
    const none = rbacFilter('ALLOW', { elsewhere: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } }] } });
    const c2 = await configure([{ rds: 'rds', httpFilters: [none] }]);
    expect((await call(c2, 'Hello')).code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('honours a per-route RBAC override (typed_per_filter_config) and an HCM fault abort', async () => {
    const denyAll = rbacFilter('ALLOW', {});
    const perRoute = {
      'envoy.filters.http.rbac': encodeAny('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', {
        rbac: { rules: { action: 'ALLOW', policies: { all: { permissions: [{ any: true }], principals: [{ any: true }] } } } },
      }),
    };
    const routes = [routeConfig('rds', [{ match: { path: HELLO }, typed_per_filter_config: perRoute }, {}])];
    const c = await configure([{ rds: 'rds', httpFilters: [denyAll] }], routes);
    expect((await call(c, 'Hello')).code).toBe(grpc.status.OK);
    expect((await call(c, 'Admin')).code).toBe(grpc.status.PERMISSION_DENIED);

    const abort = faultFilter({ abort: { grpc_status: grpc.status.RESOURCE_EXHAUSTED, percentage: { numerator: 100, denominator: 'HUNDRED' } }, headers: [{ name: 'x-fault', exact_match: 'abort' }] });
    const c2 = await configure([{ rds: 'rds', httpFilters: [abort] }]);
    expect((await call(c2, 'Hello')).code).toBe(grpc.status.OK);
    expect(await call(c2, 'Hello', { metadata: { 'x-fault': 'abort' } })).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'fault filter abort' });
  });

  it('injects a fault delay before the handler runs', async () => {
    const delay = faultFilter({ delay: { fixed_delay: { nanos: 150_000_000 }, percentage: { numerator: 100, denominator: 'HUNDRED' } } });
    const c = await configure([{ rds: 'rds', httpFilters: [delay] }]);
    const started = Date.now();
    expect((await call(c, 'Hello')).code).toBe(grpc.status.OK);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('selects the filter chain per connection; no chain and no default closes the connection', async () => {
    const denyAll = rbacFilter('ALLOW', {});
    // Loopback clients match the SAME_IP_OR_LOOPBACK chain (open); others would get the locked one.
    const c = await configure([
      { name: 'local', match: { source_type: 'SAME_IP_OR_LOOPBACK' }, rds: 'rds' },
      { name: 'remote', match: { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 8 } }] }, rds: 'rds', httpFilters: [denyAll] },
    ]);
    expect((await call(c, 'Hello')).code).toBe(grpc.status.OK);
    const locked = await configure([{ name: 'remote', match: { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 8 } }] }, rds: 'rds' }]);
    expect((await call(locked, 'Hello')).code).toBe(grpc.status.UNAVAILABLE);
    const fallback = await configure([{ name: 'remote', match: { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 8 } }] }, rds: 'rds' }], undefined, { name: 'default', rds: 'rds', httpFilters: [denyAll] });
    expect((await call(fallback, 'Hello')).code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('serves inline route_config', async () => {
    const c = await configure([{ routes: routeConfig('inline', [{ match: { path: ADMIN } }]) }]);
    expect((await call(c, 'Admin')).code).toBe(grpc.status.OK);
    expect((await call(c, 'Hello')).code).toBe(grpc.status.UNAVAILABLE);
  });
});
