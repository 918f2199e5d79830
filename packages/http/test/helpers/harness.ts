import { afterEach } from 'vitest';
import { request, type Dispatcher } from 'undici';
import { StaticResourceSource } from '@meshlet/xds-client';
import { createMeshDispatcher, type MeshDispatcher, type MeshDispatcherOptions } from '@meshlet/http';
import { startBackend, type Backend } from './backends.js';

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, unknown>;
}

/**
 * Per-file test harness: `setup(n)` starts n loopback backends, a StaticResourceSource and a
 * MeshDispatcher on it, all torn down after each test; `get` sends one request to `origin`.
 */
export function meshHarness(origin = 'http://reviews.test:9080') {
  let cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });

  async function setup(
    n: number,
    options: Omit<MeshDispatcherOptions, 'source'> = {},
  ): Promise<{ backends: Backend[]; source: StaticResourceSource; dispatcher: MeshDispatcher }> {
    const backends = await Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`)));
    const source = new StaticResourceSource();
    const dispatcher = await createMeshDispatcher({ source, ...options });
    cleanups.push(async () => {
      await dispatcher.destroy();
      await Promise.all(backends.map((b) => b.close()));
    });
    return { backends, source, dispatcher };
  }

  async function get(dispatcher: Dispatcher, path = '/', headers: Record<string, string> = {}, init: Partial<Dispatcher.RequestOptions> = {}): Promise<Reply> {
    const res = await request(`${origin}${path}`, { dispatcher, headers, ...init } as Parameters<typeof request>[1]);
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
  }

  /** `count` requests, at most `concurrency` in flight. */
  async function many(count: number, concurrency: number, one: (i: number) => Promise<Reply>): Promise<Reply[]> {
    const out: Reply[] = [];
    for (let i = 0; i < count; i += concurrency) {
      out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, j) => one(i + j)))));
    }
    return out;
  }

  return { setup, get, many, onCleanup: (fn: () => Promise<void> | void) => cleanups.push(fn) };
}

/** Polls `check` until it returns true (bounded), for config that converges asynchronously. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
