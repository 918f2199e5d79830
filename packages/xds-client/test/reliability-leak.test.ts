/**
 * Reliability: nothing leaks per ADS reconnect (XdsClient over real gRPC on 127.0.0.1. Every test prints one
 * `RELIABILITY {json}` line with its figures (copied into RELIABILITY.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdsServer, type AdsAckEvent } from '../../control-plane/src/server/index.js';
import { XdsClient, silentLogger, type XdsClientOptions } from '../src/client/index.js';
import { CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterResource } from '../src/resources/index.js';
import type { Cluster } from '../src/resources/model.js';
import { RecordingWatcher, settle, waitFor } from './helpers/RecordingWatcher.js';

import { reliabilityRig } from './helpers/reliabilityRig.js';

const { cleanups, cluster, figures, startServer, bootstrapFor, fast, newClient, record, activeResources, total, getGc } = reliabilityRig();
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
