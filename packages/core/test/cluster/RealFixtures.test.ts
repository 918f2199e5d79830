import { ClusterLoadAssignmentResource, ClusterResource, fromProto3Json, ValidationError, type Cluster, type ClusterLoadAssignment } from '@meshlet/xds-client';
import { describe, expect, it } from 'vitest';
import { allFixtureResources, TYPE_URLS } from '../../../xds-client/test/helpers/fixture-extract.js';
import { ClusterRuntime, initHashing } from '../../src/cluster/index.js';
import { FakeTime, cluster as testCluster, seededRandom } from './support.js';

await initHashing();

/** Real control-plane output from /work/shared/fixtures/xds-real, decoded by the xds-client model decoders. */
function decodeAll<T>(typeUrl: string, decode: (obj: Record<string, unknown>) => { resource: T }): { where: string; resource: T }[] {
  const out: { where: string; resource: T }[] = [];
  for (const r of allFixtureResources()) {
    if (r.typeUrl !== typeUrl) continue;
    try {
      out.push({ where: `${r.file} ${r.location}`, resource: decode(fromProto3Json(typeUrl, r.json as Record<string, unknown>)).resource });
    } catch (err) {
      // Resources Meshlet rejects (unix-socket / internal addresses) are the decoder's business, not ours.
      if (!(err instanceof ValidationError)) throw err;
    }
  }
  return out;
}

const clusters = decodeAll<Cluster>(TYPE_URLS.Cluster, (o) => ClusterResource.fromObject(o));
const clas = decodeAll<ClusterLoadAssignment>(TYPE_URLS.ClusterLoadAssignment, (o) => ClusterLoadAssignmentResource.fromObject(o));

function newRuntime(c: Cluster) {
  const time = new FakeTime();
  return new ClusterRuntime(c, { clock: time.clock, timers: time, random: seededRandom(1) });
}

describe('real clusters', () => {
  it('found a meaningful number of clusters and CLAs', () => {
    expect(clusters.length).toBeGreaterThan(10);
    expect(clas.length).toBeGreaterThan(10);
  });

  it.each(clusters.map((c) => [c.where, c.resource] as const))('%s builds a runtime and picks from any inline endpoints', (_w, c) => {
    const rt = newRuntime(c);
    const expected = c.load_assignment?.endpoints.some((l) => l.lb_endpoints.length > 0) ?? false;
    expect(rt.pick({ random: seededRandom(2) }) !== undefined).toBe(expected);
    rt.close();
  });

  it('Envoy Gateway traffic settings: circuit breakers and outlier detection are applied', () => {
    const withOd = clusters.find((c) => c.where.startsWith('envoy-gateway-traffic-settings') && c.resource.outlier_detection)?.resource;
    expect(withOd).toBeDefined();
    const rt = newRuntime(withOd!);
    const od = withOd!.outlier_detection!;
    expect(rt.outlier!.settings.consecutive_5xx).toBe(od.consecutive_5xx ?? 5);
    expect(rt.outlier!.settings.interval).toBe(od.interval ?? 10_000);
    const maxConnections = withOd!.circuit_breakers?.thresholds.find((t) => t.priority === 'DEFAULT')?.max_connections;
    if (maxConnections !== undefined) {
      let n = 0;
      while (n <= maxConnections && rt.breakers.tryAcquireConnection()) n++;
      expect(n).toBe(maxConnections);
    }
    rt.close();
  });
});

describe('real ClusterLoadAssignments', () => {
  it.each(clas.map((c) => [c.where, c.resource] as const))('%s: one Host per address, healthy ones picked', (_w, a) => {
    const rt = newRuntime(testCluster());
    rt.updateEndpoints(a);
    const keys = new Set(a.endpoints.flatMap((l) => l.lb_endpoints.map((e) => `${e.address.address}:${e.address.port_value}`)));
    expect(rt.hosts().length).toBe(keys.size);
    const anyUsable = a.endpoints.some((l) => l.lb_endpoints.some((e) => e.health_status !== 'DRAINING'));
    const ctx = { random: seededRandom(3) };
    for (let i = 0; i < 10; i++) expect(rt.pick(ctx) !== undefined).toBe(anyUsable);
  });

  it('Istio sidecar EDS: overprovisioning_factor 140 and locality/endpoint weights are honoured', () => {
    const weighted = clas.find((c) => c.where.startsWith('istio-sidecar-eds') && c.resource.endpoints.some((l) => l.lb_endpoints.length > 1));
    expect(weighted).toBeDefined();
    const rt = newRuntime(testCluster({ locality_weighted_lb: true }));
    rt.updateEndpoints(weighted!.resource);
    const p0 = rt.prioritySet.load.healthy[0];
    expect(p0).toBeGreaterThan(0);
    rt.close();
  });
});
