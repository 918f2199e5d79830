import { afterEach, describe, expect, it } from 'vitest';
import type { AdsRequestEvent } from '@meshlet/control-plane';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, ROUTE_CONFIGURATION_TYPE_URL as RDS, XdsClient } from '@meshlet/xds-client';
import { Mesh, type TargetSnapshot, type TargetState } from '@meshlet/core';
import { FAST_XDS, TARGET, bootstrapFor, meshSnapshot, startAds, waitFor } from '../../../http/test/helpers/reliabilityMesh.js';

/**
 * A route change whose new cluster resolves only later must still release the cluster the old
 * route used, once the new snapshot is published: over a real ADS stream, the control plane sees
 * the client drop its CDS and EDS subscriptions, and the Mesh no longer holds the cluster. Until
 * then the snapshot still serving keeps its cluster runtime.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function ready(state: TargetState): TargetSnapshot {
  if (state.kind !== 'ready') throw new Error(`expected ready, got ${JSON.stringify(state)}`);
  return state.snapshot;
}

/** The names the client subscribes to per type, as the server last heard them (SotW: the full list; delta: the changes). */
function trackSubscriptions(events: NodeJS.EventEmitter): Map<string, Set<string>> {
  const subscribed = new Map<string, Set<string>>();
  events.on('request', (req: AdsRequestEvent) => {
    let names = subscribed.get(req.typeUrl);
    if (!req.delta || !names) subscribed.set(req.typeUrl, (names = new Set()));
    for (const n of req.resourceNames) names.add(n);
    for (const n of req.resourceNamesUnsubscribe ?? []) names.delete(n);
  });
  return subscribed;
}

describe.each([
  ['SotW', false],
  ['delta', true],
])('TargetResolver over a real ADS stream (%s)', (_mode, delta) => {
  it('releases the old route’s cluster (CDS and EDS unsubscribed) when the new route’s cluster resolves after the route change', async () => {
    const ads = await startAds();
    cleanups.push(() => ads.server.close());
    const subscribed = trackSubscriptions(ads.server.events);
    // c1 is in CDS from the start but has no endpoints yet. Once a route names it, the server
    // holds its answers from the client's first EDS request for c1 (a delta server would say at
    // once that c1 does not exist), so c1 stays pending until the test lets the server go on.
    let held = false;
    ads.server.events.on('request', (req: AdsRequestEvent) => {
      if (held || req.typeUrl !== EDS || !req.resourceNames.includes('c1')) return;
      held = true;
      ads.server.pause();
    });
    const full = meshSnapshot({ cluster: 'c0', ports: [10001], others: [{ name: 'c1', ports: [10002] }] });
    const c1Endpoints = (full.endpoints as { cluster_name: string }[]).find((e) => e.cluster_name === 'c1')!;
    ads.server.setSnapshot({ ...full, endpoints: full.endpoints!.filter((e) => e !== c1Endpoints) }, { version: 'v1' });

    const client = new XdsClient({ ...FAST_XDS, delta, doesNotExistTimeoutMs: 60_000, bootstrap: bootstrapFor([ads.port]) });
    cleanups.push(() => client.close());
    const mesh = await Mesh.create({ source: client, resolveTimeoutMs: 20_000 });
    cleanups.push(() => mesh.close());
    const first = ready(await mesh.resolve(TARGET));
    expect(first.clusterNames).toEqual(['c0']);
    await waitFor(() => subscribed.get(EDS)?.has('c0'), 10_000, 'EDS c0 subscribed');

    // The route moves to c1, whose endpoints have not arrived: the c0 snapshot keeps serving, with its runtime.
    const toC1 = meshSnapshot({ cluster: 'c1', ports: [10002], others: [{ name: 'c0', ports: [10001] }] });
    const routes = toC1.routes as { name: string }[];
    ads.server.setResources(RDS, Object.fromEntries(routes.map((r) => [r.name, r as Record<string, unknown>])), { version: 'v2' });
    await waitFor(() => subscribed.get(EDS)?.has('c1'), 10_000, 'EDS c1 subscribed');
    // Give a wrongly early publish time to happen (the client would have to act on nothing new).
    await new Promise((r) => setTimeout(r, 200));
    expect(ready(mesh.state(TARGET)).version).toBe(first.version);
    expect(mesh.debugState().clusters).toEqual({ c0: 'ready', c1: 'pending' });
    expect(first.cluster('c0')!.pick({ random: Math.random })?.port).toBe(10001);

    // c1's endpoints arrive: the c1 snapshot is published and c0, which nothing references now, is released.
    ads.server.upsertResources(EDS, { c1: c1Endpoints as unknown as Record<string, unknown> }, { version: 'v3' });
    ads.server.resume();
    const after = await waitFor(() => {
      const s = mesh.state(TARGET);
      return s.kind === 'ready' && s.snapshot.version !== first.version ? s.snapshot : undefined;
    }, 10_000, 'the c1 snapshot');
    expect(after.clusterNames).toEqual(['c1']);
    // Delta: c1 may first be published without endpoints (the held "does not exist"), then they update in place.
    await waitFor(() => after.cluster('c1')!.pick({ random: Math.random })?.port === 10002, 10_000, 'c1 endpoints');
    expect(mesh.debugState().clusters).toEqual({ c1: 'ready' });
    await waitFor(() => !subscribed.get(CDS)?.has('c0') && !subscribed.get(EDS)?.has('c0'), 10_000, 'c0 unsubscribed from CDS and EDS');
    expect([...subscribed.get(EDS)!]).toEqual(['c1']);
    expect(subscribed.get(CDS)!.has('c1')).toBe(true);
  });
});
