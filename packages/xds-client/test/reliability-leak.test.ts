/**
 * Reliability: nothing leaks per ADS reconnect (XdsClient over real gRPC on 127.0.0.1. Every test prints one
 * `RELIABILITY {json}` line with its figures (copied into RELIABILITY.md).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { AdsServer, type AdsAckEvent } from '../../control-plane/src/server/index.js';
import { XdsClient, silentLogger, type XdsClientOptions } from '../src/client/index.js';
import { CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterResource } from '../src/resources/index.js';
import type { Cluster } from '../src/resources/model.js';
import { RecordingWatcher, settle, waitFor } from './helpers/RecordingWatcher.js';

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

describe('reliability: nothing leaks per reconnect', () => {
  it('after 20 forced reconnects active handles/timers stay flat and heap after GC stays within 2 MiB', async () => {
    const { server, port } = await startServer();
    const acks = record<AdsAckEvent>(server, 'ack');
    server.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1', 1) });
    const client = newClient({ bootstrap: bootstrapFor([port]), backoff: { initialMs: 5, maxMs: 20 } });
    let connected = 0;
    client.on('connected', () => void connected++);
    const w = new RecordingWatcher<Cluster>();
    client.watch(ClusterResource, 'c1', w);
    await w.nextOf('resource');

    const reconnect = async (): Promise<void> => {
      const want = connected + 1;
      const acked = acks.length;
      server.disconnectAll();
      await waitFor(() => connected >= want && acks.length > acked, 5000, 'reconnect');
    };
    // Warm up (first reconnect allocates what every later one reuses).
    for (let i = 0; i < 3; i++) await reconnect();
    await settle(200);
    const gc = getGc();
    gc?.();
    const before = activeResources();
    const heapBefore = process.memoryUsage().heapUsed;
    const N = 20;
    for (let i = 0; i < N; i++) await reconnect();
    await settle(300);
    gc?.();
    const after = activeResources();
    const heapAfter = process.memoryUsage().heapUsed;
    figures('leak-per-reconnect', {
      reconnects: N,
      handles_before: total(before),
      handles_after: total(after),
      by_kind_before: before,
      by_kind_after: after,
      heap_before: heapBefore,
      heap_after: heapAfter,
      heap_delta_bytes: heapAfter - heapBefore,
      gc: gc ? 'yes' : 'not available: heap not asserted',
    });
    expect(total(after)).toBeLessThanOrEqual(total(before) + 1);
    expect(after['Timeout'] ?? 0).toBeLessThanOrEqual((before['Timeout'] ?? 0) + 1);
    if (gc) expect(heapAfter - heapBefore).toBeLessThan(2 * 1024 * 1024);
    expect(server.streamCount).toBe(1);
  });
});
