import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { ECHO_SERVICE } from './echoService.js';

export interface SeenCall {
  readonly method: string;
  /** :authority as the server saw it. */
  readonly host: string;
  readonly metadata: grpc.Metadata;
}

export type UnaryBehaviour = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>, name: string) => void;
export type StreamBehaviour = (call: grpc.ServerWritableStream<Buffer, Buffer>, name: string) => void;

export interface GrpcBackend {
  readonly name: string;
  readonly port: number;
  /** Every call received, in order. */
  readonly seen: SeenCall[];
  /** Replace how unary methods answer (default: the backend's name). */
  behave(fn: UnaryBehaviour): void;
  /** Replace how Stream answers (default: N messages, N the request as a number, then OK). */
  behaveStream(fn: StreamBehaviour): void;
  /** Fail this many Chat calls with UNAVAILABLE on their first request message. */
  failChats(n: number): void;
  close(): Promise<void>;
}

const answerName: UnaryBehaviour = (_call, callback, name) => callback(null, Buffer.from(name));
const countTo: StreamBehaviour = (call, name) => {
  const n = Number(call.request.toString());
  for (let i = 0; i < n; i++) call.write(Buffer.from(`${name}:${i}`));
  call.end();
};

/** A real grpc-js server on 127.0.0.1, port 0, serving ECHO_SERVICE. */
export async function startBackend(name: string): Promise<GrpcBackend> {
  const server = new grpc.Server();
  const seen: SeenCall[] = [];
  let behaviour = answerName;
  let streamBehaviour = countTo;
  let chatFailures = 0;
  const unaryHandler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    seen.push({ method: call.getPath(), host: call.getHost(), metadata: call.metadata });
    behaviour(call, callback, name);
  };
  server.addService(ECHO_SERVICE, {
    Echo: unaryHandler,
    Other: unaryHandler,
    Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      seen.push({ method: call.getPath(), host: call.getHost(), metadata: call.metadata });
      streamBehaviour(call, name);
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      seen.push({ method: call.getPath(), host: call.getHost(), metadata: call.metadata });
      const fail = chatFailures > 0;
      if (fail) chatFailures--;
      call.on('data', (m: Buffer) => {
        if (fail) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'chat refused' });
        else call.write(Buffer.from(`${name}:${m.toString()}`));
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    name,
    port,
    seen,
    behave(fn) {
      behaviour = fn;
    },
    behaveStream(fn) {
      streamBehaviour = fn;
    },
    failChats(n) {
      chatFailures = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        server.forceShutdown();
      }),
  };
}

/** A Trailers-Only error status, as a failing server sends it. */
export function failWith(code: grpc.status, details = 'backend failure'): UnaryBehaviour {
  return (_call, callback) => callback({ code, details });
}

/** A port with nothing listening (bound, then released). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
