/**
 * Shutdown: close() drains in-flight requests and stops the ADS stream, and afterwards no
 * handle or timer keeps the process alive (checked in a child process on the built dist/).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createMeshDispatcher } from '@meshlet/http';
import { startBackend, type Backend } from './helpers/backends.js';
import { FAST_XDS, TARGET, URL_, bootstrapFor, figures, meshSnapshot, sleep, startAds, waitFor } from './helpers/reliabilityMesh.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function world(): Promise<{ backend: Backend; port: number; streams: () => number }> {
  const backend = await startBackend('b0');
  const ads = await startAds();
  ads.server.setSnapshot(meshSnapshot({ cluster: 'c0', ports: [backend.port] }));
  cleanups.push(async () => {
    await ads.server.close();
    await backend.close();
  });
  return { backend, port: ads.port, streams: () => ads.server.streamCount };
}

describe('reliability: shutdown', () => {
  it('close() lets a slow in-flight request complete, then stops the ADS stream', async () => {
    const w = await world();
    w.backend.behave((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('slow done'), 500);
      else res.writeHead(200).end('b0');
    });
    const dispatcher = await createMeshDispatcher({ bootstrap: bootstrapFor([w.port]), xds: FAST_XDS, passthrough: 'reject' });
    const first = await request(`${URL_}/`, { dispatcher });
    expect(await first.body.text()).toBe('b0');
    expect(w.streams()).toBe(1);
    const t0 = Date.now();
    const slow = request(`${URL_}/slow`, { dispatcher }).then(async (r) => ({ status: r.statusCode, body: await r.body.text(), ms: Date.now() - t0 }));
    await sleep(50); // in flight
    const closing = dispatcher.close();
    const r = await slow;
    await closing;
    const closeMs = Date.now() - t0;
    expect(r).toMatchObject({ status: 200, body: 'slow done' });
    await waitFor(() => w.streams() === 0, 2000, 'ADS stream closed');
    figures('shutdown/drain', { in_flight_completed: 1, in_flight_ms: r.ms, close_resolved_ms: closeMs, ads_streams_after: w.streams() });
    // Requests after close are refused, not hung.
    await expect(request(`${URL_}/`, { dispatcher })).rejects.toThrow(/closed|destroyed/i);
  });

  it('a child process with a dispatcher exits on its own after close() (code 0, < 1 s after close)', async () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    if (!existsSync(dist)) throw new Error(`build first (pnpm build): ${dist} is missing`);
    const w = await world();
    const script = fileURLToPath(new URL('./fixtures/reliability-shutdown-child.mjs', import.meta.url));
    const t0 = Date.now();
    const child = spawn(process.execPath, [script], { env: { ...process.env, ADS_PORT: String(w.port), TARGET }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const result = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    const exitedAt = Date.now();
    const ms = exitedAt - t0;
    const line = out.split('\n').find((l) => l.startsWith('CHILD '));
    const report = line ? (JSON.parse(line.slice(6)) as { ok: number; closed_at: number; close_ms: number; active: string[] }) : undefined;
    figures('shutdown/child-exit', { exit_code: result.code, signal: result.signal, exit_ms: ms, exit_after_close_ms: report ? exitedAt - report.closed_at : undefined, close_ms: report?.close_ms, requests_ok: report?.ok, active_after_close: report?.active, stderr: err.slice(0, 300) });
    expect(result.signal, err).toBeNull();
    expect(result.code, err).toBe(0);
    expect(report?.ok).toBe(20);
    expect(ms).toBeLessThan(10_000); // start-up (proto loading) included
    expect(exitedAt - report!.closed_at).toBeLessThan(1000); // nothing keeps it alive after close()
  });
});
