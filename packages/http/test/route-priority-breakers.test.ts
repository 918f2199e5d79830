import { describe, expect, it } from 'vitest';
import { applyMesh } from './helpers/meshConfig.js';
import { eventually, meshHarness } from './helpers/harness.js';

/**
 * RouteAction.priority picks the cluster's circuit-breaker thresholds for that priority
 * (Envoy's router asks cluster.resourceManager(route priority); CircuitBreakers.Thresholds are
 * kept per RoutingPriority, each with its own counts). Real loopback server.
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness();

/** One backend that holds every response until released; routes `/high` (priority HIGH) and `/` (DEFAULT) to cluster `c`. */
async function meshWithHighRoute(thresholds: Record<string, unknown>[]) {
  const { backends, source, dispatcher } = await setup(1);
  const release: Array<() => void> = [];
  backends[0]!.behave((_q, res) => release.push(() => res.writeHead(200).end('b0')));
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'c', ports: [backends[0]!.port], cluster: { circuit_breakers: { thresholds } } }],
    routes: [
      { match: { prefix: '/high' }, route: { cluster: 'c', priority: 'HIGH' } },
      { match: { prefix: '/' }, route: { cluster: 'c' } },
    ],
  });
  return { backend: backends[0]!, dispatcher, release };
}

describe('route priority and circuit breakers', () => {
  it('a HIGH route keeps working while the DEFAULT max_requests is reached, and has limits of its own', async () => {
    const { backend, dispatcher, release } = await meshWithHighRoute([{ max_requests: 1 }, { priority: 'HIGH', max_requests: 2 }]);
    const defaultInflight = get(dispatcher, '/');
    await eventually(() => release.length === 1);
    const tripped = await get(dispatcher, '/');
    expect([tripped.status, tripped.headers['x-meshlet-response-flags']]).toEqual([503, 'UO']);

    // DEFAULT is full; HIGH has its own two slots.
    const highInflight = [get(dispatcher, '/high'), get(dispatcher, '/high')];
    await eventually(() => release.length === 3);
    const highTripped = await get(dispatcher, '/high');
    expect([highTripped.status, highTripped.headers['x-meshlet-response-flags']]).toEqual([503, 'UO']);
    expect(backend.seen).toHaveLength(3);

    release.splice(0).forEach((r) => r());
    expect((await Promise.all([defaultInflight, ...highInflight])).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('a HIGH route on a cluster with no HIGH thresholds gets Envoy\'s defaults (1024), not the DEFAULT ones', async () => {
    const { dispatcher, release } = await meshWithHighRoute([{ max_requests: 1 }]);
    const inflight = [get(dispatcher, '/'), get(dispatcher, '/high'), get(dispatcher, '/high')];
    await eventually(() => release.length === 3);
    release.splice(0).forEach((r) => r());
    expect((await Promise.all(inflight)).map((r) => r.status)).toEqual([200, 200, 200]);
  });
});
