import { afterEach, describe, expect, it } from 'vitest';
import type { Cluster } from '@meshlet/xds-client';
import { UpstreamPools } from '../src/UpstreamPools.js';

/** The parts of a Cluster model note() reads. */
function cluster(maxConnections: number, protocol: 'HTTP1' | 'HTTP2' = 'HTTP1'): Cluster {
  return { name: 'c', protocol, connect_timeout: 1000, circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: maxConnections }] } } as unknown as Cluster;
}

let pools: UpstreamPools | undefined;
afterEach(async () => {
  await pools?.agent.close();
  pools = undefined;
});

describe('UpstreamPools.note', () => {
  it("keeps one load per endpoint and follows each pushed cluster's limits, also when the same model is noted again", () => {
    pools = new UpstreamPools();
    const v1 = cluster(2);
    const load = pools.note('http://127.0.0.1:1', '127.0.0.1:1', v1);
    expect(load.limit).toBe(2);
    load.inFlight = 2;
    expect(pools.wouldQueue('127.0.0.1:1')).toBe(true);
    // The same model again: the same load, unchanged.
    expect(pools.note('http://127.0.0.1:1', '127.0.0.1:1', v1)).toBe(load);
    expect(load.limit).toBe(2);
    // A push replaces the model: its max_connections applies to the endpoint at once.
    expect(pools.note('http://127.0.0.1:1', '127.0.0.1:1', cluster(5))).toBe(load);
    expect(load.limit).toBe(5);
    expect(pools.wouldQueue('127.0.0.1:1')).toBe(false);
    // HTTP/2 multiplexes: never pending.
    pools.note('http://127.0.0.1:1', '127.0.0.1:1', cluster(1, 'HTTP2'));
    expect(load.limit).toBe(Number.POSITIVE_INFINITY);
    // Back to the first model after another was noted: its limit again.
    pools.note('http://127.0.0.1:1', '127.0.0.1:1', v1);
    expect(load.limit).toBe(2);
    // Another endpoint has a load of its own.
    const other = pools.note('http://127.0.0.1:2', '127.0.0.1:2', v1);
    expect(other).not.toBe(load);
    expect(other.inFlight).toBe(0);
  });
});
