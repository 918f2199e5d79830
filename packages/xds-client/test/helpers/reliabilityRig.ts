/**
 * The shared rig of the xds-client reliability tests: a real AdsServer on 127.0.0.1, XdsClients
 * with short timers, event recorders, resource/handle counters and a gc() for heap figures.
 * Call reliabilityRig() once at the top of a test file: it registers that file's cleanup.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach } from 'vitest';
import { AdsServer } from '../../../control-plane/src/server/index.js';
import { XdsClient, silentLogger, type XdsClientOptions } from '../../src/client/index.js';

export function reliabilityRig() {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const cluster = (name: string, timeoutS = 1, extra: Record<string, unknown> = {}) => ({
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} } },
    connect_timeout: { seconds: timeoutS },
    ...extra,
  });

  function figures(test: string, data: Record<string, unknown>): void {
    console.log(`RELIABILITY ${JSON.stringify({ test, ...data })}`);
  }

  async function startServer(port = 0): Promise<{ server: AdsServer; port: number }> {
    const server = new AdsServer();
    const bound = await server.listen(port);
    cleanups.push(() => server.close());
    return { server, port: bound.port };
  }

  function bootstrapFor(ports: number[]) {
    return {
      xds_servers: ports.map((port) => ({ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] })),
      node: { id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local', cluster: 'app' },
    };
  }

  const fast: XdsClientOptions = {
    doesNotExistTimeoutMs: 500,
    // No jitter so the growth of the intervals is visible; multiplier 2 from 40 ms, cap 640 ms.
    backoff: { initialMs: 40, multiplier: 2, jitter: 0, maxMs: 640 },
    channelOptions: { 'grpc.initial_reconnect_backoff_ms': 20, 'grpc.max_reconnect_backoff_ms': 100 },
    fallbackProbeIntervalMs: 50,
    logger: silentLogger,
  };

  function newClient(options: XdsClientOptions): XdsClient {
    const client = new XdsClient({ ...fast, ...options });
    cleanups.push(() => client.close());
    return client;
  }

  function record<T>(server: AdsServer, event: string): T[] {
    const seen: T[] = [];
    const listener = (e: T) => seen.push(e);
    server.events.on(event, listener);
    cleanups.push(() => void server.events.off(event, listener));
    return seen;
  }

  /** Active handles and requests by kind (Timeout, TCPWRAP, ...), as Node reports them. */
  function activeResources(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
    return out;
  }
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

  /** A gc() function: the --expose-gc global, or one obtained at run time; undefined if neither works. */
  function getGc(): (() => void) | undefined {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) return g;
    try {
      v8.setFlagsFromString('--expose-gc');
      return vm.runInNewContext('gc') as () => void;
    } catch {
      return undefined;
    }
  }

  return { cleanups, cluster, figures, startServer, bootstrapFor, fast, newClient, record, activeResources, total, getGc };
}
