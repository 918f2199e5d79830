import { afterEach, describe, expect, it } from 'vitest';
import { ClusterLoadAssignmentResource, XdsClient, type ClusterLoadAssignment } from '@meshlet/xds-client';
import { Mesh } from '@meshlet/core';
import { endpointsBuilt } from '../../../xds-client/src/resources/endpoint/DeferredEndpoints.js';
import { FAST_XDS, TARGET, bootstrapFor, meshSnapshot, startAds, waitFor } from '../../../http/test/helpers/reliabilityMesh.js';

/**
 * At config scale (10,000 clusters, 100,000 endpoints) the XdsClient checks each CLA's endpoints
 * when it arrives but builds them when first read, and the mesh reads a cluster's endpoints only
 * when it first picks from it. Over a real ADS stream: a ready target has built no endpoints, a
 * pick builds those of its own cluster and no other, and picks see the right hosts.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.each([
  ['SotW', false],
  ['delta', true],
])('endpoints built at a cluster’s first pick (%s)', (_mode, delta) => {
  it('a ready target holds unbuilt endpoints; a pick builds its cluster’s only', async () => {
    const ads = await startAds();
    cleanups.push(() => ads.server.close());
    const base = meshSnapshot({ cluster: 'c0', ports: [10001, 10003], others: [{ name: 'c1', ports: [10002] }] });
    const routes = [
      { name: 'outbound|9080||reviews.test', virtual_hosts: [{ name: TARGET, domains: [TARGET], routes: [{ match: { prefix: '/a' }, route: { cluster: 'c0' } }, { match: { prefix: '/' }, route: { cluster: 'c1' } }] }] },
    ];
    ads.server.setSnapshot({ ...base, routes }, { version: 'v1' });

    const client = new XdsClient({ ...FAST_XDS, delta, bootstrap: bootstrapFor([ads.port]) });
    cleanups.push(() => client.close());
    const mesh = await Mesh.create({ source: client, resolveTimeoutMs: 20_000 });
    cleanups.push(() => mesh.close());
    const state = await mesh.resolve(TARGET);
    if (state.kind !== 'ready') throw new Error(`expected ready, got ${state.kind}`);

    // The cached assignments, the very objects the mesh was given (a second watcher gets the cache).
    const cla: Record<string, ClusterLoadAssignment> = {};
    for (const name of ['c0', 'c1']) {
      const w = client.watch(ClusterLoadAssignmentResource, name, { onResource: (r) => (cla[name] = r) });
      cleanups.push(() => w.dispose());
    }
    await waitFor(() => cla['c0'] && cla['c1'], 5000, 'cached CLAs');
    expect(endpointsBuilt(cla['c0']!)).toBe(false);
    expect(endpointsBuilt(cla['c1']!)).toBe(false);

    const ctx = { random: Math.random };
    const ports = new Set<number>();
    for (let i = 0; i < 4; i++) ports.add(state.snapshot.cluster('c0')!.pick(ctx)!.port);
    expect([...ports].sort()).toStrictEqual([10001, 10003]);
    expect(endpointsBuilt(cla['c0']!)).toBe(true);
    expect(endpointsBuilt(cla['c1']!)).toBe(false);

    expect(state.snapshot.cluster('c1')!.pick(ctx)!.port).toBe(10002);
    expect(endpointsBuilt(cla['c1']!)).toBe(true);
  }, 30_000);
});
