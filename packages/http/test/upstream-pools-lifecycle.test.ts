/**
 * UpstreamPools hands attempts straight to the pool the Agent made for their origin. The Agent still
 * owns the pools: when an origin's last connection goes it closes that pool, and the next attempt must
 * get a new one, while the closed pool is forgotten (a process whose endpoints churn must not keep
 * one closed pool per departed endpoint). Real server on 127.0.0.1, real idle-connection timeout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, request } from 'undici';
import { UpstreamPools } from '../src/UpstreamPools.js';
import { startBackend, type Backend } from './helpers/backends.js';
import { waitFor } from './helpers/reliabilityMesh.js';

let cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A dispatcher that sends everything through UpstreamPools.dispatch, as MeshDispatcher's interceptor does. */
class ThroughPools extends Dispatcher {
  constructor(private readonly pools: UpstreamPools) {
    super();
  }
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.pools.dispatch(opts, handler);
  }
}

async function get(pools: UpstreamPools, backend: Backend): Promise<string> {
  const res = await request(`http://127.0.0.1:${backend.port}/`, { dispatcher: new ThroughPools(pools) });
  return res.body.text();
}

describe('UpstreamPools: attempts go to the origin pool the Agent owns', () => {
  it('a pool the Agent closes when its last connection goes is forgotten, and the next request gets a new one', async () => {
    const backend = await startBackend('b');
    cleanups.push(() => backend.close());
    // Idle connections close after 100 ms: the Agent then closes the origin's pool.
    const pools = new UpstreamPools({ keepAliveTimeout: 100, keepAliveMaxTimeout: 100 });
    cleanups.push(() => pools.agent.destroy());
    expect(await get(pools, backend)).toBe('b');
    expect(await get(pools, backend)).toBe('b');
    expect(pools.origins).toBe(1);
    await waitFor(() => pools.origins === 0, 5000, 'the closed pool forgotten');
    expect(await get(pools, backend)).toBe('b');
    expect(pools.origins).toBe(1);
    expect(backend.seen).toHaveLength(3);
  });

  it('after the Agent is closed, an attempt fails with undici\'s error instead of reaching a closed pool', async () => {
    const backend = await startBackend('b');
    cleanups.push(() => backend.close());
    const pools = new UpstreamPools();
    expect(await get(pools, backend)).toBe('b');
    await pools.agent.close();
    await expect(get(pools, backend)).rejects.toThrow(/closed|destroyed/i);
    expect(backend.seen).toHaveLength(1);
  });
});
