import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Mesh, type CallSummary } from '@meshlet/core';
import { StaticResourceSource } from '@meshlet/xds-client';
import { meshClientOptions } from '@meshlet/grpc';
import { deadPort } from './helpers/backends.js';
import { ECHO_SERVICE, EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';
import { applyMesh } from '../../http/test/helpers/meshConfig.js';

/**
 * The retry buffer (gRFC A44's per-RPC buffer limit) bounds what is kept for a retry, never what the
 * server gets. A request that outgrows it commits the call to its attempt in progress; while the call
 * waits in a retry backoff there is none, so the call must fail then, not start an attempt that
 * replays what is left of the request (the server would take a truncated stream for a whole one).
 * Before the first attempt nothing has been sent: every message is kept for it.
 */

const TARGET = 'chat.test:50051';
const BUFFER_BYTES = 1024;
/** Far longer than the test may take: a call that waited it out would time the test out. */
const BACKOFF = '60s';

/** One Chat stream as the server saw it. */
interface ServedStream {
  readonly messages: string[];
  /** The client half-closed: the server took the stream as complete. */
  completed: boolean;
}

interface ChatServer {
  readonly port: number;
  readonly streams: ServedStream[];
  /** Chat streams to fail with UNAVAILABLE (Trailers-Only) on their first message. */
  refuse: number;
  close(): Promise<void>;
}

async function startChatServer(): Promise<ChatServer> {
  const server = new grpc.Server();
  const state: ChatServer = {
    port: 0,
    streams: [],
    refuse: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        server.forceShutdown();
      }),
  };
  // Answers with the request's size, so a test sees whether the whole request arrived.
  const answer: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, Buffer.from(String(call.request.length)));
  server.addService(ECHO_SERVICE, {
    Echo: answer,
    Other: answer,
    Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => call.end(),
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      const served: ServedStream = { messages: [], completed: false };
      state.streams.push(served);
      const refuse = state.refuse > 0;
      if (refuse) state.refuse--;
      call.on('data', (m: Buffer) => {
        served.messages.push(m.toString());
        if (refuse) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'chat refused' });
      });
      call.on('end', () => {
        served.completed = true;
        call.end();
      });
      call.on('error', () => {});
    },
  });
  (state as { port: number }).port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return state;
}

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Setup {
  client: EchoClient;
  summaries: CallSummary[];
  /** Resolves when an attempt ends with a retry decided: the call is then in its backoff. */
  retrying: () => Promise<void>;
}

async function setup(ports: number[], { backoff = BACKOFF, fault }: { backoff?: string; fault?: Record<string, unknown> } = {}): Promise<Setup> {
  const source = new StaticResourceSource();
  applyMesh(source, {
    target: TARGET,
    clusters: [{ name: 'c0', ports }],
    fault,
    routes: [
      // Chat retries UNAVAILABLE (a connect failure is UNAVAILABLE to gRPC) after a long backoff; Echo never retries.
      { match: { path: '/meshlet.test.Echo/Chat' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 2, retry_back_off: { base_interval: backoff, max_interval: backoff } } } },
      { match: { prefix: '/' }, route: { cluster: 'c0' } },
    ],
  });
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
  const summaries: CallSummary[] = [];
  let onRetry: (() => void) | undefined;
  const options = meshClientOptions(mesh, `xds:///${TARGET}`, {
    retryBufferBytes: BUFFER_BYTES,
    observer: {
      onCallEnd: (s) => summaries.push(s),
      onAttemptEnd: (_attempt, _record, reason) => {
        if (reason !== undefined) onRetry?.();
      },
    },
  });
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), options);
  cleanups.push(() => {
    client.close();
    mesh.close();
  });
  return {
    client,
    summaries,
    retrying: () =>
      new Promise<void>((resolve) => {
        // The engine sleeps right after telling the observer; the writes go one event-loop turn later.
        onRetry = () => setImmediate(resolve);
      }),
  };
}

/**
 * Opens a Chat stream, writes one small message, waits for the first attempt to end in a retry,
 * then (in the backoff) writes past the retry buffer and half-closes. Resolves with the status.
 */
async function chatOverflowingInBackoff(s: Setup): Promise<grpc.StatusObject> {
  const inBackoff = s.retrying();
  const call = s.client.Chat();
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => {});
  call.on('data', () => {});
  call.write(Buffer.from('m0'));
  await inBackoff;
  // 8 x 256 bytes: twice the buffer, all sent while no attempt is in progress.
  for (let i = 1; i <= 8; i++) call.write(Buffer.from(`m${i}:`.padEnd(256, 'x')));
  call.end();
  return status;
}

describe('a streamed request that outgrows the retry buffer during a retry backoff (gRFC A44)', () => {
  it('fails the call after a connect failure instead of replaying a truncated stream to the next host', async () => {
    const dead = await deadPort();
    const live = await startChatServer();
    cleanups.push(() => live.close());
    const s = await setup([dead, live.port]);
    // Round robin starts at a random host and then alternates: after an Echo call reaches the live
    // host (Echo is not retried), the next pick, the Chat stream's first attempt, is the dead one.
    for (let i = 0; i < 4 && !(await unary(s.client)).ok; i++);
    const before = s.summaries.length;

    const status = await chatOverflowingInBackoff(s);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toContain('retry buffer');
    // No Chat stream reached the live server, so none was taken as complete with messages missing.
    expect(live.streams).toEqual([]);
    await expect.poll(() => s.summaries.length).toBe(before + 1);
    const summary = s.summaries[before]!;
    expect(summary.attempts.map((a) => a.outcome.kind)).toEqual(['connect-failure']);
  });

  it('fails the call after an UNAVAILABLE status instead of starting an attempt it cannot replay', async () => {
    const server = await startChatServer();
    cleanups.push(() => server.close());
    server.refuse = 1;
    const s = await setup([server.port]);

    const status = await chatOverflowingInBackoff(s);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toContain('retry buffer');
    // Only the refused first attempt reached the server: it saw the first message and no half-close.
    expect(server.streams).toEqual([{ messages: ['m0'], completed: false }]);
    await expect.poll(() => s.summaries.length).toBe(1);
    expect(s.summaries[0]!.attempts).toHaveLength(1);
  });

  it('still retries a stream that stays within the buffer, replaying it whole', async () => {
    const server = await startChatServer();
    cleanups.push(() => server.close());
    server.refuse = 1;
    const { client } = await setup([server.port], { backoff: '0.05s' });
    const call = client.Chat();
    call.on('data', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => {});
    call.write(Buffer.from('a'));
    call.write(Buffer.from('b'));
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    // The retry got the whole request: its stream has both messages and the half-close.
    await expect.poll(() => server.streams.length).toBe(2);
    expect(server.streams[1]).toEqual({ messages: ['a', 'b'], completed: true });
  });
});

describe('a request larger than the retry buffer before its first attempt starts', () => {
  it('reaches the server whole when the call waits for a fault delay (it is only not retried)', async () => {
    const server = await startChatServer();
    cleanups.push(() => server.close());
    const { client } = await setup([server.port], { fault: { delay: { fixed_delay: '0.2s', percentage: { numerator: 100, denominator: 'HUNDRED' } } } });
    // Routed at start(), the call waits out the delay before its first attempt; its one message, four
    // times the buffer, arrives meanwhile. Before, it was dropped with the log and the server got none.
    const big = 'x'.repeat(4 * BUFFER_BYTES);
    expect(await unary(client, { body: big })).toMatchObject({ ok: true, body: String(big.length) });
  });
});
