import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { unary } from './helpers/echoService.js';
import { adsEchoClient } from './helpers/adsEchoClient.js';
import { meshSnapshot, sleep } from '../../http/test/helpers/reliabilityMesh.js';

/**
 * HttpConnectionManager.generate_request_id for gRPC calls, over a real ADS stream: unset, each call
 * without an x-request-id gets one; false, none is added (a proxyless gRPC client then sends what
 * plain grpc-js does); the caller's own id goes through either way, and the caller's Metadata is left
 * as it was.
 */
let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('HCM generate_request_id (gRPC)', () => {
  it('unset: generated; false: none generated, the caller’s kept; a push turns it back on', async () => {
    const { client, backend, ads } = await adsEchoClient(cleanups);
    const snapshot = (hcm?: Record<string, unknown>) => meshSnapshot({ cluster: 'c0', ports: [backend.port], ...(hcm ? { hcm } : {}) });
    const lastId = () => backend.seen.at(-1)!.metadata.get('x-request-id');
    const until = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        expect(await unary(client)).toMatchObject({ ok: true });
        if (check()) return;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(10);
      }
    };

    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });
    expect(lastId()).toEqual([expect.stringMatching(UUID_V4)]);

    ads.server.setSnapshot(snapshot({ generate_request_id: { value: false } }), { version: 'v2' });
    await until('a call without x-request-id', () => lastId().length === 0);
    for (let i = 0; i < 20; i++) expect(await unary(client)).toMatchObject({ ok: true });
    expect(backend.seen.slice(-20).map((s) => s.metadata.get('x-request-id'))).toEqual(Array(20).fill([]));
    const md = new grpc.Metadata();
    md.set('x-request-id', 'caller-id-7');
    await new Promise<void>((resolve, reject) => client.Echo(Buffer.from('hi'), md, {}, (err) => (err ? reject(err) : resolve())));
    expect(lastId()).toEqual(['caller-id-7']);
    expect(md.getMap()).toEqual({ 'x-request-id': 'caller-id-7' });

    ads.server.setSnapshot(snapshot({ generate_request_id: { value: true } }), { version: 'v3' });
    await until('a generated x-request-id again', () => UUID_V4.test(String(lastId()[0])));
  });
});
