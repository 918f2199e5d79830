import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { StaticResourceSource } from '@meshlet/xds-client';
import { createMeshDispatcher } from '@meshlet/http';
import { startBackend } from './helpers/backends.js';
import { applyMesh } from './helpers/meshConfig.js';

const TARGET = 'api.test:8080';
let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('upstream pools per cluster', () => {
  it('speaks HTTP/2 (h2c prior knowledge) to a cluster with http2_protocol_options', async () => {
    const versions: string[] = [];
    const server = createH2Server((req, res) => {
      versions.push(req.httpVersion);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('h2');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const source = new StaticResourceSource();
    applyMesh(source, { target: TARGET, clusters: [{ name: 'h2', ports: [(server.address() as AddressInfo).port], cluster: { http2_protocol_options: {} } }] });
    const dispatcher = await createMeshDispatcher({ source });
    cleanups.push(() => dispatcher.destroy());
    const bodies = await Promise.all(
      Array.from({ length: 5 }, async () => (await request(`http://${TARGET}/`, { dispatcher })).body.text()),
    );
    expect(bodies).toEqual(['h2', 'h2', 'h2', 'h2', 'h2']);
    expect(versions).toEqual(['2.0', '2.0', '2.0', '2.0', '2.0']);
  });

  it('caps connections per endpoint at the circuit breaker max_connections', async () => {
    const backend = await startBackend('b');
    const sockets = new Set<unknown>();
    const release: Array<() => void> = [];
    backend.behave((req, res) => {
      sockets.add(req.socket);
      release.push(() => res.writeHead(200).end('ok'));
    });
    cleanups.push(() => backend.close());
    const source = new StaticResourceSource();
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backend.port], cluster: { circuit_breakers: { thresholds: [{ max_connections: 2 }] } } }] });
    const dispatcher = await createMeshDispatcher({ source });
    cleanups.push(() => dispatcher.destroy());
    const inflight = Array.from({ length: 6 }, () => request(`http://${TARGET}/`, { dispatcher }).then((r) => r.body.text()));
    // Two connections take two requests; the rest queue in the pool (pending) until one frees.
    while (release.length < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(release.length).toBe(2);
    // From now on answer at once, and free the two held requests: the queued four follow.
    backend.behave((req, res) => {
      sockets.add(req.socket);
      res.writeHead(200).end('ok');
    });
    release.forEach((r) => r());
    expect(await Promise.all(inflight)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(sockets.size).toBe(2);
  });
});
