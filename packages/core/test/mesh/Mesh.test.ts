import { describe, expect, it } from 'vitest';
import {
  ClusterLoadAssignmentResource,
  ClusterResource,
  ListenerResource,
  RouteConfigurationResource,
  StaticResourceSource,
  fromProto3Json,
  type ResourceType,
} from '@meshlet/xds-client';
import { Mesh, type TargetSnapshot } from '@meshlet/core';
import { edsCluster, endpoints, listener, routeConfig } from './meshFixtures.js';

function put<T>(source: StaticResourceSource, type: ResourceType<T>, objects: Record<string, unknown>[]): void {
  source.replaceFromObjects(type, objects.map((o) => fromProto3Json(type.typeUrl, o)));
}

const TARGET = 'reviews.test:9080';
const RDS = 'outbound|9080||reviews.test';
const V1 = 'outbound|9080|v1|reviews.test';
const V2 = 'outbound|9080|v2|reviews.test';

function seed(source: StaticResourceSource, weights: Array<[string, number]> = [[V1, 90], [V2, 10]]): void {
  put(source, ClusterLoadAssignmentResource, [endpoints(V1, [10001, 10002]), endpoints(V2, [20001])]);
  put(source, ClusterResource, [edsCluster(V1), edsCluster(V2)]);
  put(source, RouteConfigurationResource, [routeConfig(RDS, TARGET, weights)]);
  put(source, ListenerResource, [listener(TARGET, RDS)]);
}

const headers = { get: () => undefined };
const request = { authority: TARGET, path: '/reviews/1', method: 'GET', headers, isGrpc: false };

function ready(state: Awaited<ReturnType<Mesh['resolve']>>): TargetSnapshot {
  if (state.kind !== 'ready') throw new Error(`expected ready, got ${JSON.stringify(state)}`);
  return state.snapshot;
}

describe('Mesh', () => {
  it('resolves LDS -> RDS -> CDS -> EDS into one snapshot whose routes reach endpoints', async () => {
    const source = new StaticResourceSource();
    seed(source);
    const mesh = await Mesh.create({ source });
    const snap = ready(await mesh.resolve(TARGET));
    expect(snap.clusterNames).toEqual([V1, V2]);
    const match = snap.routeTable.match(request);
    expect(match).toBeDefined();
    const picked = match!.route.clusterPicker!.pick(0.5, headers);
    expect(picked?.name).toBe(V1);
    const host = snap.cluster(V1)!.pick({ random: Math.random });
    expect([10001, 10002]).toContain(host?.port);
    expect(snap.cluster(V2)!.pick({ random: Math.random })?.port).toBe(20001);
    mesh.close();
  });

  it('reports a target with no listener as missing instead of hanging', async () => {
    const source = new StaticResourceSource();
    seed(source);
    const mesh = await Mesh.create({ source });
    const state = await mesh.resolve('unknown.test:80');
    expect(state).toEqual({ kind: 'missing', reason: 'no listener "unknown.test:80" in the mesh config' });
    mesh.close();
  });

  it('swaps the snapshot atomically on a push and keeps the old one intact', async () => {
    const source = new StaticResourceSource();
    seed(source);
    const mesh = await Mesh.create({ source });
    const before = ready(await mesh.resolve(TARGET));
    put(source, RouteConfigurationResource, [routeConfig(RDS, TARGET, [[V2, 1]])]);
    const after = ready(mesh.state(TARGET));
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.routeTable.match(request)!.route.clusterPicker!.pick(0.01, headers)?.name).toBe(V2);
    // The old snapshot a request in flight holds is unchanged.
    expect(before.routeTable.match(request)!.route.clusterPicker!.pick(0.01, headers)?.name).toBe(V1);
    mesh.close();
  });

  it('waits for a newly referenced cluster before publishing (gRFC A74: no tears)', async () => {
    const source = new StaticResourceSource();
    seed(source);
    const mesh = await Mesh.create({ source });
    const before = ready(await mesh.resolve(TARGET));
    const V3 = 'outbound|9080|v3|reviews.test';
    // The route starts naming v3 before CDS has it: the old snapshot keeps serving
    // until the source answers for v3 ...
    put(source, RouteConfigurationResource, [routeConfig(RDS, TARGET, [[V3, 1]])]);
    expect(ready(mesh.state(TARGET)).version).toBe(before.version);
    // ... and a static source knows at once that v3 does not exist: the route is
    // published with the cluster absent (requests get NC), never half-resolved.
    await new Promise((r) => setTimeout(r, 0));
    const interim = ready(mesh.state(TARGET));
    expect(interim.version).toBeGreaterThan(before.version);
    expect(interim.cluster(V3)).toBeUndefined();
    put(source, ClusterLoadAssignmentResource, [endpoints(V1, [10001, 10002]), endpoints(V2, [20001]), endpoints(V3, [30001])]);
    put(source, ClusterResource, [edsCluster(V1), edsCluster(V2), edsCluster(V3)]);
    await new Promise((r) => setTimeout(r, 0));
    const after = ready(mesh.state(TARGET));
    expect(after.clusterNames).toEqual([V3]);
    expect(after.cluster(V3)!.pick({ random: Math.random })?.port).toBe(30001);
    mesh.close();
  });

  it('shares one cluster runtime between targets and updates endpoints in place', async () => {
    const source = new StaticResourceSource();
    seed(source);
    put(source, RouteConfigurationResource, [routeConfig(RDS, TARGET, [[V1, 1]]), routeConfig('other', 'other.test:80', [[V1, 1]])]);
    put(source, ListenerResource, [listener(TARGET, RDS), listener('other.test:80', 'other')]);
    const mesh = await Mesh.create({ source });
    const a = ready(await mesh.resolve(TARGET));
    const b = ready(await mesh.resolve('other.test:80'));
    expect(a.cluster(V1)).toBe(b.cluster(V1));
    put(source, ClusterLoadAssignmentResource, [endpoints(V1, [10009]), endpoints(V2, [20001])]);
    expect(a.cluster(V1)!.pick({ random: Math.random })?.port).toBe(10009);
    mesh.close();
  });
});
