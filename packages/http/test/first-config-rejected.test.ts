import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, XdsClient } from '@meshlet/xds-client';
import type { AdsAckEvent } from '@meshlet/control-plane';
import { createMeshDispatcher, type MeshDispatcher } from '@meshlet/http';
import { startBackend, type Backend } from './helpers/backends.js';
import { FAST_XDS, URL_, bootstrapFor, meshSnapshot, startAds } from './helpers/reliabilityMesh.js';

/**
 * A resource whose very first version is rejected (NACKed) has no last good config to fall back on.
 * Over a real ADS stream: the target's other clusters serve at once and routes to a rejected cluster
 * fail fast (503 NC, or UH for rejected endpoints), as in Envoy, which never adds a rejected cluster;
 * a rejected route configuration makes the target missing with the NACK's reason, so requests do not
 * each wait resolveTimeoutMs for config the server did send. A corrected push then serves as usual.
 */
let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Longer than any test here: a request that waited for the target's config would time the test out. */
const RESOLVE_TIMEOUT_MS = 60_000;

/** The resources of meshSnapshot, as objects to edit. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resource = Record<string, any>;
interface Mesh {
  listeners: Resource[];
  routes: Resource[];
  clusters: Resource[];
  endpoints: Resource[];
}

interface Setup {
  backends: [Backend, Backend];
  ads: Awaited<ReturnType<typeof startAds>>;
  dispatcher: MeshDispatcher;
  nacks: AdsAckEvent[];
}

async function setup(first: (good: Mesh) => Mesh): Promise<Setup & { good: Mesh }> {
  const backends = (await Promise.all([startBackend('b0'), startBackend('b1')])) as [Backend, Backend];
  const ads = await startAds();
  const nacks: AdsAckEvent[] = [];
  ads.server.events.on('nack', (e: AdsAckEvent) => nacks.push(e));
  const good = meshSnapshot({ cluster: 'c0', ports: [backends[0].port], others: [{ name: 'c1', ports: [backends[1].port] }] }) as Mesh;
  // Two routes: /one to c1, everything else to c0.
  good.routes[0]!['virtual_hosts'] = [
    { name: 'reviews', domains: ['reviews.test:9080', 'reviews.test'], routes: [{ match: { prefix: '/one' }, route: { cluster: 'c1' } }, { match: { prefix: '/' }, route: { cluster: 'c0' } }] },
  ];
  ads.server.setSnapshot(first(good), { version: 'v1' });
  const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([ads.port]) });
  const dispatcher = await createMeshDispatcher({ source: client, passthrough: 'reject', resolveTimeoutMs: RESOLVE_TIMEOUT_MS });
  cleanups.push(async () => {
    await dispatcher.destroy();
    await client.close();
    await ads.server.close();
    await Promise.all(backends.map((b) => b.close()));
  });
  return { backends, ads, dispatcher, nacks, good };
}

/** Sends `path` until it answers 200 (the corrected push has landed), for at most 5 s. */
async function untilOk(dispatcher: MeshDispatcher, path: string): Promise<Awaited<ReturnType<typeof get>>> {
  const deadline = Date.now() + 5000;
  let last = await get(dispatcher, path);
  while (last.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    last = await get(dispatcher, path);
  }
  return last;
}

async function get(dispatcher: MeshDispatcher, path: string): Promise<{ status: number; body: string; flags: unknown; error?: string }> {
  try {
    const res = await request(`${URL_}${path}`, { dispatcher });
    return { status: res.statusCode, body: await res.body.text(), flags: res.headers['x-meshlet-response-flags'] };
  } catch (err) {
    return { status: 0, body: '', flags: undefined, error: (err as Error).message };
  }
}

describe('a first version rejected', () => {
  it('cluster: the other cluster serves at once, the rejected one answers 503 NC; the corrected push serves', async () => {
    const s = await setup((good) => ({ ...good, clusters: [good.clusters[0]!, { ...good.clusters[1]!, connect_timeout: { seconds: -1 } }] }));
    expect(await get(s.dispatcher, '/')).toMatchObject({ status: 200, body: 'b0' });
    expect(await get(s.dispatcher, '/one')).toMatchObject({ status: 503, flags: 'NC' });
    expect(s.nacks.find((n) => n.typeUrl === CLUSTER_TYPE_URL)?.errorDetail?.message).toMatch(/cluster "c1": connect_timeout/);

    s.ads.server.setSnapshot(s.good, { version: 'v2' });
    expect(await untilOk(s.dispatcher, '/one')).toMatchObject({ status: 200, body: 'b1' });
  });

  it('endpoints: the cluster resolves with none (503 UH), the other serves; the corrected push serves', async () => {
    const badPort = { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 70000 } } } }] };
    const s = await setup((good) => ({ ...good, endpoints: [good.endpoints[0]!, { ...good.endpoints[1]!, endpoints: [badPort] }] }));
    expect(await get(s.dispatcher, '/')).toMatchObject({ status: 200, body: 'b0' });
    expect(await get(s.dispatcher, '/one')).toMatchObject({ status: 503, flags: 'UH' });
    expect(s.nacks.find((n) => n.typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL)?.errorDetail?.message).toMatch(/port must be at most 65535/);

    s.ads.server.setSnapshot(s.good, { version: 'v2' });
    expect(await untilOk(s.dispatcher, '/one')).toMatchObject({ status: 200, body: 'b1' });
  });

  it('route configuration: requests fail at once with the NACK’s reason; the corrected push serves', async () => {
    const badRegex = { name: 'v', domains: ['*'], routes: [{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'c0' } }] };
    const s = await setup((good) => ({ ...good, routes: [{ ...good.routes[0]!, virtual_hosts: [badRegex] }] }));
    const failed = await get(s.dispatcher, '/');
    expect(failed.status).toBe(0);
    expect(failed.error).toMatch(/route configuration "outbound\|9080\|\|reviews.test" for listener "reviews.test:9080" was rejected: .*regex/);

    s.ads.server.setSnapshot(s.good, { version: 'v2' });
    expect(await untilOk(s.dispatcher, '/')).toMatchObject({ status: 200, body: 'b0' });
    expect(await get(s.dispatcher, '/one')).toMatchObject({ status: 200, body: 'b1' });
  });
});
