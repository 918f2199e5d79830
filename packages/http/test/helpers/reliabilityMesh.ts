import { request, type Dispatcher } from 'undici';
import { AdsServer, type AdsSnapshot } from '@meshlet/control-plane';
import { encodeAny, silentLogger, type XdsClientOptions } from '@meshlet/xds-client';

export const TARGET = 'reviews.test:9080';
export const URL_ = 'http://reviews.test:9080';
export const NODE_ID = 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local';

/** Short timers so faults resolve within a CI test (the defaults are 15 s DNE, 1 s..120 s backoff). */
export const FAST_XDS: Omit<XdsClientOptions, 'bootstrap'> = {
  doesNotExistTimeoutMs: 1500,
  backoff: { initialMs: 40, multiplier: 2, jitter: 0, maxMs: 400 },
  channelOptions: { 'grpc.initial_reconnect_backoff_ms': 20, 'grpc.max_reconnect_backoff_ms': 100 },
  fallbackProbeIntervalMs: 50,
  logger: silentLogger,
};

export function bootstrapFor(ports: number[]) {
  return {
    xds_servers: ports.map((port) => ({ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] })),
    node: { id: NODE_ID, cluster: 'app', metadata: { GENERATOR: 'grpc' } },
  };
}

/**
 * istiod-shaped resources for TARGET: listener -> RDS `routeName` -> cluster `cluster` -> endpoints `ports`.
 * `others` are further clusters served alongside (istiod sends every cluster, so a route change
 * never races the removal of the cluster the old route used).
 */
export function meshSnapshot(opts: {
  cluster: string;
  ports: number[];
  routeName?: string;
  listenerRds?: string;
  others?: { name: string; ports: number[] }[];
  /** Further HttpConnectionManager fields (proto3 JSON), e.g. generate_request_id. */
  hcm?: Record<string, unknown>;
}): AdsSnapshot {
  const all = [{ name: opts.cluster, ports: opts.ports }, ...(opts.others ?? [])];
  const routeName = opts.routeName ?? `outbound|9080||reviews.test`;
  const hcm = {
    stat_prefix: TARGET,
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: opts.listenerRds ?? routeName },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: encodeAny('envoy.extensions.filters.http.router.v3.Router', {}) }],
    ...opts.hcm,
  };
  return {
    listeners: [{ name: TARGET, api_listener: { api_listener: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) } }],
    routes: [{ name: routeName, virtual_hosts: [{ name: TARGET, domains: [TARGET, 'reviews.test'], routes: [{ match: { prefix: '/' }, route: { cluster: opts.cluster } }] }] }],
    clusters: all.map((c) => ({ name: c.name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 } })),
    endpoints: all.map((c) => ({
      cluster_name: c.name,
      endpoints: [{ lb_endpoints: c.ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
    })),
  };
}

export async function startAds(port = 0): Promise<{ server: AdsServer; port: number }> {
  const server = new AdsServer();
  const bound = await server.listen(port);
  return { server, port: bound.port };
}

/** A port nothing listens on (an AdsServer bound, then closed). */
export async function freePort(): Promise<number> {
  const { server, port } = await startAds();
  await server.close();
  return port;
}

export interface LoadFigures {
  sent: number;
  succeeded: number;
  failed: number;
  /** Failures, by status or error message. */
  failures: Record<string, number>;
  /** Responses per body (the backend that answered). */
  byBody: Record<string, number>;
}

/**
 * Keeps `concurrency` requests to TARGET in flight until stop() and counts outcomes:
 * the "requests keep flowing" half of every fault test.
 */
export function startLoad(dispatcher: Dispatcher, concurrency = 4): { figures: LoadFigures; stop(): Promise<LoadFigures> } {
  const figures: LoadFigures = { sent: 0, succeeded: 0, failed: 0, failures: {}, byBody: {} };
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      figures.sent++;
      try {
        const res = await request(`${URL_}/load`, { dispatcher, headersTimeout: 3000, bodyTimeout: 3000 });
        const body = await res.body.text();
        if (res.statusCode === 200) {
          figures.succeeded++;
          figures.byBody[body] = (figures.byBody[body] ?? 0) + 1;
        } else {
          figures.failed++;
          const k = `status ${res.statusCode} ${String(res.headers['x-meshlet-response-flags'] ?? '')}`;
          figures.failures[k] = (figures.failures[k] ?? 0) + 1;
        }
      } catch (error) {
        figures.failed++;
        const k = (error as Error).message.slice(0, 120);
        figures.failures[k] = (figures.failures[k] ?? 0) + 1;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    figures,
    async stop() {
      running = false;
      await Promise.all(workers);
      return figures;
    },
  };
}

export function figures(test: string, data: Record<string, unknown>): void {
  console.log(`RELIABILITY ${JSON.stringify({ test, ...data })}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
