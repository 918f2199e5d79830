import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { MeshDispatcher } from '@meshlet/http';
import { applyMesh, PREVIOUS_HOSTS } from './helpers/meshConfig.js';
import { meshHarness, type Reply } from './helpers/harness.js';

/**
 * A request on a dispatcher without an observer runs its first attempt as the engine's DirectCall, which arms
 * the attempt's one timer (the per-try timeout, or the route timeout when there is no shorter one) and hands
 * the call to the engine when it passes or when the retry policy retries the outcome. Each case runs on such
 * a dispatcher and on one with an observer (the engine's full path) against real servers, and requires the
 * same replies and the same requests upstream.
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness();
const FAST = { base_interval: '0.001s', max_interval: '0.002s' };

type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** Two backends sharing one behaviour, told the request's ordinal across both. */
async function pair(observed: boolean, route: Record<string, unknown>, behaviour: Behaviour, virtualHost: Record<string, unknown> = {}) {
  const h = await setup(2, observed ? { observer: {} } : {});
  let n = 0;
  const arrived: Arrival[] = [];
  h.backends.forEach((b, i) =>
    b.behave((req, res) => {
      arrived.push({ backend: i, headers: req.headers });
      behaviour(req, res, ++n);
    }),
  );
  applyMesh(h.source, { target: TARGET, clusters: [{ name: 'c', ports: h.backends.map((b) => b.port) }], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', ...route } }], virtualHost });
  return { ...h, arrived };
}

interface Arrival {
  readonly backend: number;
  readonly headers: IncomingMessage['headers'];
}

/** The first request the backends see hangs (until the mesh resets it); the others are answered. */
function firstHangs(closed: boolean[]): Behaviour {
  return (req, res, n) => {
    if (n > 1) return void res.writeHead(200).end(`ok-${n}`);
    req.socket.on('close', () => (closed[0] = true));
  };
}

/** The values of the mesh's headers `names` on each request the backends saw, in arrival order. */
function upstream(arrived: Arrival[], names: string[]): (string | undefined)[][] {
  return arrived.map((a) => names.map((name) => a.headers[name] as string | undefined));
}

/** The reply without what names the run's own ports. */
function reply(r: Reply): Record<string, unknown> {
  return { status: r.status, flags: r.headers['x-meshlet-response-flags'], body: r.body.replace(/127\.0\.0\.1:\d+/g, '<host>') };
}

async function onBoth<T>(fn: (observed: boolean) => Promise<T>): Promise<T> {
  const direct = await fn(false);
  const full = await fn(true);
  expect(direct).toEqual(full);
  return direct;
}

const RETRY = { retry_on: '5xx,connect-failure,refused-stream,reset', num_retries: 2, retry_back_off: FAST, retry_host_predicate: [PREVIOUS_HOSTS] };

describe('the first attempt of an HTTP request without an observer (DirectCall) against real servers', () => {
  it("tells the upstream the first attempt's budget: the per-try timeout when shorter than the route's, else the route timeout", async () => {
    const seen = await onBoth(async (observed) => {
      const out: unknown[] = [];
      for (const route of [{ timeout: '10s', retry_policy: { ...RETRY, per_try_timeout: '2s' } }, { timeout: '3s' }, {}, { timeout: '0s' }]) {
        const { dispatcher, arrived } = await pair(observed, route, (_q, res) => res.writeHead(200).end('ok'));
        out.push(reply(await get(dispatcher)), upstream(arrived, ['x-envoy-expected-rq-timeout-ms']).map((s) => s[0]));
        await dispatcher.destroy();
      }
      return out;
    });
    expect(seen.filter((_, i) => i % 2 === 1)).toEqual([['2000'], ['3000'], ['15000'], [undefined]]);
  });

  it('a per-try timeout resets the hanging attempt and retries on the other host with its attempt count and budget', async () => {
    const seen = await onBoth(async (observed) => {
      const closed = [false];
      const { dispatcher, arrived } = await pair(observed, { timeout: '5s', retry_policy: { ...RETRY, per_try_timeout: '0.3s' } }, firstHangs(closed), { include_request_attempt_count: true });
      const r = reply(await get(dispatcher));
      await until(() => closed[0]!);
      return { r, other: arrived[1]!.backend !== arrived[0]!.backend, counts: upstream(arrived, ['x-envoy-attempt-count', 'x-envoy-expected-rq-timeout-ms']) };
    });
    expect(seen).toEqual({ r: { status: 200, flags: undefined, body: 'ok-2' }, other: true, counts: [['1', '300'], ['2', '300']] });
  });

  it('the route timeout resets the attempt and answers 504 UT "upstream request timeout"', async () => {
    const seen = await onBoth(async (observed) => {
      const closed = [false];
      const { dispatcher } = await pair(observed, { timeout: '0.3s', retry_policy: RETRY }, firstHangs(closed));
      const r = reply(await get(dispatcher));
      await until(() => closed[0]!);
      return r;
    });
    expect(seen).toMatchObject({ status: 504, flags: 'UT', body: expect.stringContaining('upstream request timeout (UT) after 1 attempt; last: <host> per-try-timeout') });
  });

  it('retriable_request_headers: a 503 is retried only for a request that matches them', async () => {
    const seen = await onBoth(async (observed) => {
      const policy = { ...RETRY, retriable_request_headers: [{ name: 'x-retry', string_match: { exact: 'yes' } }] };
      const { dispatcher, backends } = await pair(observed, { timeout: '5s', retry_policy: policy }, (_q, res, n) => res.writeHead(n % 2 === 1 ? 503 : 200).end(`r-${n}`));
      const matching = reply(await get(dispatcher, '/', { 'x-retry': 'yes' }));
      const other = reply(await get(dispatcher, '/', { 'x-retry': 'no' }));
      return { matching, other, requests: backends.reduce((sum, b) => sum + b.seen.length, 0) };
    });
    expect(seen).toEqual({ matching: { status: 200, flags: undefined, body: 'r-2' }, other: { status: 503, flags: undefined, body: 'r-3' }, requests: 3 });
  });

  it('the caller aborting while the timer is armed fails the request, resets the attempt, and no retry follows', async () => {
    const seen = await onBoth(async (observed) => {
      const closed = [false];
      const { dispatcher, backends, arrived } = await pair(observed, { timeout: '0.8s', retry_policy: { ...RETRY, per_try_timeout: '0.5s' } }, firstHangs(closed));
      const controller = new AbortController();
      const pending = request(`http://${TARGET}/`, { dispatcher: dispatcher as MeshDispatcher, signal: controller.signal }).then(
        () => 'answered',
        (err: Error) => err.message.replace(/127\.0\.0\.1:\d+/g, '<host>'),
      );
      // Aborted once the upstream has the request (a loaded machine may take a while to connect).
      await until(() => arrived.length === 1);
      controller.abort(new Error('caller gave up'));
      const error = await pending;
      await until(() => closed[0]!);
      // Past both timers: neither fires for the cancelled call.
      await new Promise((r) => setTimeout(r, 850));
      return { error, requests: backends.reduce((sum, b) => sum + b.seen.length, 0), next: reply(await get(dispatcher)).status };
    });
    expect(seen).toEqual({ error: expect.stringContaining('cancelled by caller (DC) after 1 attempt; last: <host> reset'), requests: 1, next: 200 });
  });
});

/** Resolves when `check` holds, polling every 5 ms (fails the test after 2 s). */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in 2 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}
