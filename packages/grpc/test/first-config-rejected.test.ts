import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { unary } from './helpers/echoService.js';
import { adsEchoClient, type EchoMesh } from './helpers/adsEchoClient.js';
import { sleep } from '../../http/test/helpers/reliabilityMesh.js';

/**
 * gRPC calls when a resource's first version is rejected (NACKed), over a real ADS stream: they fail
 * at once with UNAVAILABLE naming the rejection (gRFC A27's status for a target or cluster without
 * usable config), instead of each waiting the Mesh's resolve timeout; a corrected push serves.
 */
let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Longer than the test: a call that waited for config would time it out. */
const RESOLVE_TIMEOUT_MS = 60_000;

const badRoutes = (good: EchoMesh) => [{ ...good.routes[0]!, virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'c0' } }] }] }];

describe('gRPC: a first version rejected', () => {
  it('a rejected cluster fails calls at once (UNAVAILABLE, NC); the corrected push serves, and a later rejected update leaves it serving', async () => {
    const { client, ads, good } = await adsEchoClient(cleanups, (g) => ({ ...g, clusters: [{ ...g.clusters[0]!, connect_timeout: { seconds: -1 } }] }), { resolveTimeoutMs: RESOLVE_TIMEOUT_MS });
    const until = async (check: (r: Awaited<ReturnType<typeof unary>>) => boolean) => {
      const deadline = Date.now() + 5000;
      let r = await unary(client);
      while (!check(r) && Date.now() < deadline) {
        await sleep(10);
        r = await unary(client);
      }
      return r;
    };

    const nc = await unary(client);
    expect(nc).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(nc.details).toMatch(/NC/);

    ads.server.setSnapshot(good, { version: 'v2' });
    expect(await until((r) => r.ok)).toMatchObject({ ok: true, body: 'b0' });

    // A later rejected update keeps the last good config serving.
    ads.server.setSnapshot({ ...good, routes: badRoutes(good) }, { version: 'v3' });
    await sleep(300);
    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });
  });

  it('a rejected first route configuration fails calls at once with its reason', async () => {
    const { client } = await adsEchoClient(cleanups, (g) => ({ ...g, routes: badRoutes(g) }), { resolveTimeoutMs: RESOLVE_TIMEOUT_MS });
    const r = await unary(client);
    expect(r).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(r.details).toMatch(/route configuration "outbound\|9080\|\|reviews.test" for listener "reviews.test:9080" was rejected: .*regex/);
  });
});
