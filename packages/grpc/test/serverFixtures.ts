import * as grpc from '@grpc/grpc-js';
import { encodeAny } from '@meshlet/xds-client';

/**
 * Shared pieces of the MeshServer tests: a proto-less Buffer service, Listener / RouteConfiguration
 * builders shaped like istiod's inbound output for proxyless gRPC servers, and call helpers.
 */

const identity = (value: Buffer): Buffer => value;
function method(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

export const GREETER = {
  Hello: method('/meshlet.test.Greeter/Hello'),
  Admin: method('/meshlet.test.Greeter/Admin'),
  /** Answers after the number of ms in the request. */
  Slow: method('/meshlet.test.Greeter/Slow'),
  /** Answers with the caller's SPIFFE id (or "none"). */
  WhoAmI: method('/meshlet.test.Greeter/WhoAmI'),
};

export type GreeterMethod = keyof typeof GREETER;
export type GreeterClient = grpc.Client & Record<GreeterMethod, (req: Buffer, md: grpc.Metadata, options: grpc.CallOptions, cb: grpc.requestCallback<Buffer>) => grpc.ClientUnaryCall>;
export const GreeterClientConstructor = grpc.makeGenericClientConstructor(GREETER, 'Greeter') as unknown as new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => GreeterClient;

/** Handlers that answer `name:method`; `whoAmI` decides what WhoAmI answers. */
export function greeterImplementation(name: string, whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => string = () => 'none'): grpc.UntypedServiceImplementation {
  const reply = (m: string) => (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(`${name}:${m}`));
  return {
    Hello: reply('Hello'),
    Admin: reply('Admin'),
    Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      setTimeout(() => cb(null, Buffer.from(`${name}:Slow`)), Number(call.request.toString()));
    },
    WhoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(whoAmI(call))),
  };
}

export interface Outcome {
  readonly code: grpc.status;
  readonly body?: string;
  readonly details: string;
}

/** One unary call; never rejects. */
export function call(client: GreeterClient, m: GreeterMethod, options: { body?: string; metadata?: Record<string, string>; timeoutMs?: number } = {}): Promise<Outcome> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
  return new Promise((resolve) => {
    client[m](Buffer.from(options.body ?? 'hi'), md, { deadline: Date.now() + (options.timeoutMs ?? 3000) }, (err, res) => {
      if (err) resolve({ code: err.code, details: err.details });
      else resolve({ code: grpc.status.OK, body: res!.toString(), details: '' });
    });
  });
}

export const TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';
export const ROUTER = { name: 'envoy.filters.http.router', typed_config: encodeAny('envoy.extensions.filters.http.router.v3.Router', {}) };

export type Action = 'non_forwarding' | 'route';
export interface RouteSpec {
  readonly match?: Record<string, unknown>;
  readonly action?: Action;
  readonly typed_per_filter_config?: Record<string, unknown>;
}

/** A RouteConfiguration with one `*` virtual host; routes default to `prefix: /` NonForwardingAction. */
export function routeConfig(name: string, routes: readonly RouteSpec[] = [{}]): Record<string, unknown> {
  return {
    name,
    virtual_hosts: [
      {
        name: 'inbound|grpc',
        domains: ['*'],
        routes: routes.map((r, i) => ({
          name: `r${i}`,
          match: r.match ?? { prefix: '/' },
          ...(r.action === 'route' ? { route: { cluster: 'elsewhere' } } : { non_forwarding_action: {} }),
          ...(r.typed_per_filter_config !== undefined ? { typed_per_filter_config: r.typed_per_filter_config } : {}),
        })),
      },
    ],
  };
}

/** An envoy.filters.http.rbac filter (gRFC A41) with the given rules. */
export function rbacFilter(action: 'ALLOW' | 'DENY', policies: Record<string, { permissions: unknown[]; principals: unknown[] }>, name = 'envoy.filters.http.rbac'): Record<string, unknown> {
  return { name, typed_config: encodeAny('envoy.extensions.filters.http.rbac.v3.RBAC', { rules: { action, policies } }) };
}

export function faultFilter(fault: Record<string, unknown>): Record<string, unknown> {
  return { name: 'envoy.filters.http.fault', typed_config: encodeAny('envoy.extensions.filters.http.fault.v3.HTTPFault', fault) };
}

export interface ChainSpec {
  readonly name?: string;
  readonly match?: Record<string, unknown>;
  /** RDS name, or an inline route configuration. */
  readonly rds?: string;
  readonly routes?: Record<string, unknown>;
  readonly httpFilters?: readonly Record<string, unknown>[];
  readonly transportSocket?: Record<string, unknown>;
}

export function filterChain(spec: ChainSpec): Record<string, unknown> {
  const hcm = {
    stat_prefix: 'inbound',
    ...(spec.rds !== undefined ? { rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: spec.rds } } : { route_config: spec.routes ?? routeConfig('inline') }),
    http_filters: [...(spec.httpFilters ?? []), ROUTER],
  };
  return {
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    ...(spec.match !== undefined ? { filter_chain_match: spec.match } : {}),
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) }],
    ...(spec.transportSocket !== undefined ? { transport_socket: spec.transportSocket } : {}),
  };
}

/** An inbound server Listener for `ip:port`, named as the template names it. */
export function serverListener(ip: string, port: number, chains: readonly ChainSpec[], defaultChain?: ChainSpec): Record<string, unknown> {
  return {
    name: TEMPLATE.replace('%s', `${ip}:${port}`),
    address: { socket_address: { address: ip, port_value: port } },
    filter_chains: chains.map(filterChain),
    ...(defaultChain !== undefined ? { default_filter_chain: filterChain(defaultChain) } : {}),
  };
}

/** Resolves once `predicate` holds, polling every few ms; fails after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function bindAsync(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))));
}

export function tryShutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve, reject) => server.tryShutdown((err) => (err ? reject(err) : resolve())));
}
