import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { XdsClient } from '@meshlet/xds-client';
import { createMeshDispatcher, type MeshDispatcher } from '@meshlet/http';
import { startBackend, type Backend } from './helpers/backends.js';
import { FAST_XDS, URL_, bootstrapFor, meshSnapshot, sleep, startAds } from './helpers/reliabilityMesh.js';

/**
 * HttpConnectionManager.generate_request_id over a real ADS stream: unset (Envoy's default, true) a
 * request without an x-request-id gets a generated one; false, it goes without, as from an Envoy so
 * configured; either way the caller's own id is sent as is. A push flips it for the next request.
 */
let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Sends requests until one satisfies `check` (the push has landed), or fails after 5 s. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function send(dispatcher: MeshDispatcher, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`${URL_}/`, { dispatcher, headers });
  await res.body.dump();
  return res.statusCode;
}

describe('HCM generate_request_id (HTTP)', () => {
  it('unset: generated; false: none generated, the caller’s kept; a push turns it back on', async () => {
    const backend: Backend = await startBackend('b0');
    const ads = await startAds();
    const snapshot = (hcm?: Record<string, unknown>) => meshSnapshot({ cluster: 'c0', ports: [backend.port], ...(hcm ? { hcm } : {}) });
    ads.server.setSnapshot(snapshot(), { version: 'v1' });
    const client = new XdsClient({ ...FAST_XDS, bootstrap: bootstrapFor([ads.port]) });
    const dispatcher = await createMeshDispatcher({ source: client });
    cleanups.push(async () => {
      await dispatcher.destroy();
      await client.close();
      await ads.server.close();
      await backend.close();
    });

    expect(await send(dispatcher)).toBe(200);
    expect(backend.seen.at(-1)!.headers['x-request-id']).toMatch(UUID_V4);

    ads.server.setSnapshot(snapshot({ generate_request_id: { value: false } }), { version: 'v2' });
    // The push lands between requests: the first request routed with it carries no id.
    await until('a request without x-request-id', async () => (await send(dispatcher)) === 200 && backend.seen.at(-1)!.headers['x-request-id'] === undefined);
    for (let i = 0; i < 20; i++) expect(await send(dispatcher)).toBe(200);
    expect(backend.seen.slice(-20).map((s) => s.headers['x-request-id'])).toEqual(Array(20).fill(undefined));
    expect(await send(dispatcher, { 'x-request-id': 'caller-id-7' })).toBe(200);
    expect(backend.seen.at(-1)!.headers['x-request-id']).toBe('caller-id-7');

    ads.server.setSnapshot(snapshot({ generate_request_id: { value: true } }), { version: 'v3' });
    await until('a generated x-request-id again', async () => (await send(dispatcher)) === 200 && UUID_V4.test(String(backend.seen.at(-1)!.headers['x-request-id'])));
  });
});
