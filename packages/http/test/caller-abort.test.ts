import { afterEach, describe, expect, it } from 'vitest';
import { fetch, request } from 'undici';
import { StaticResourceSource } from '@meshlet/xds-client';
import { createMeshDispatcher, type MeshDispatcher } from '@meshlet/http';
import { startBackend, type Backend } from './helpers/backends.js';
import { applyMesh } from './helpers/meshConfig.js';

const TARGET = 'reviews.test:9080';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(): Promise<{ backend: Backend; dispatcher: MeshDispatcher }> {
  const backend = await startBackend('b0');
  const source = new StaticResourceSource();
  const dispatcher = await createMeshDispatcher({ source });
  cleanups.push(async () => {
    await dispatcher.destroy();
    await backend.close();
  });
  applyMesh(source, { target: TARGET, clusters: [{ name: 'c0', ports: [backend.port] }] });
  return { backend, dispatcher };
}

/** A backend that sends a response head and part of a body, then holds the response open. */
async function streamingSetup(): Promise<{ dispatcher: MeshDispatcher; upstreamClosed: () => boolean }> {
  const { backend, dispatcher } = await setup();
  let closed = false;
  backend.behave((_req, res) => {
    res.on('close', () => (closed = true));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part');
  });
  return { dispatcher, upstreamClosed: () => closed };
}

/** Resolves when `check` holds, polling every 5 ms (fails the test after 2 s). */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in 2 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a caller that aborts through the abort function undici.request is given (onConnect)', () => {
  it('before the response: the request fails (DC, the signal reason as its cause), the upstream request is reset, the next request goes through', async () => {
    const { backend, dispatcher } = await setup();
    let upstreamClosed = false;
    let hold = true;
    backend.behave((_req, res) => {
      if (!hold) return void res.writeHead(200).end('b0');
      res.on('close', () => (upstreamClosed = true));
    });
    const controller = new AbortController();
    const pending = request(`http://${TARGET}/slow`, { dispatcher, signal: controller.signal });
    const settled = pending.then(
      () => undefined,
      (err: Error & { flags?: readonly string[] }) => err,
    );
    await until(() => backend.seen.length === 1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    const err = await settled;
    expect(err?.name).toBe('MeshCallError');
    expect(err?.flags).toContain('DC');
    expect(err?.cause).toBe(reason);
    await until(() => upstreamClosed);
    hold = false;
    const next = await request(`http://${TARGET}/next`, { dispatcher });
    expect(next.statusCode).toBe(200);
    expect(await next.body.text()).toBe('b0');
  });

  it('while the body streams (the engine has handed the response over): destroying the body resets the upstream request', async () => {
    const { dispatcher, upstreamClosed } = await streamingSetup();
    const res = await request(`http://${TARGET}/stream`, { dispatcher });
    expect(res.statusCode).toBe(200);
    res.body.on('error', () => {}); // the reason destroy() is given comes back as the stream's error
    res.body.destroy(new Error('caller gave up'));
    await until(upstreamClosed);
  });

  it('while the body streams: an abort signal fired after the response head resets the upstream request and errors the body', async () => {
    const { dispatcher, upstreamClosed } = await streamingSetup();
    const controller = new AbortController();
    const res = await request(`http://${TARGET}/stream`, { dispatcher, signal: controller.signal });
    expect(res.statusCode).toBe(200);
    const bodyError = new Promise<Error>((resolve) => res.body.on('error', resolve));
    const reason = new Error('caller gave up mid-body');
    controller.abort(reason);
    expect(await bodyError).toBe(reason);
    await until(upstreamClosed);
  });

  it('fetch: aborting while the body streams resets the upstream request', async () => {
    const { dispatcher, upstreamClosed } = await streamingSetup();
    const controller = new AbortController();
    const res = await fetch(`http://${TARGET}/stream`, { dispatcher, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    controller.abort(new Error('caller gave up mid-body'));
    await expect(reader.read()).rejects.toThrow();
    await until(upstreamClosed);
  });
});
