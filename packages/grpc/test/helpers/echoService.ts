import * as grpc from '@grpc/grpc-js';

/** A proto-less service: raw Buffers both ways, so tests need no .proto files. */
const identity = (value: Buffer): Buffer => value;

function method(path: string, responseStream: boolean, requestStream = false): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export const ECHO_SERVICE = {
  Echo: method('/meshlet.test.Echo/Echo', false),
  Other: method('/meshlet.test.Echo/Other', false),
  /** Answers N messages, N being the request as a decimal number. */
  Stream: method('/meshlet.test.Echo/Stream', true),
  /** Answers each request message with backend:message. */
  Chat: method('/meshlet.test.Echo/Chat', true, true),
};

export type EchoClient = grpc.Client & {
  Echo(request: Buffer, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<Buffer>): grpc.ClientUnaryCall;
  Other(request: Buffer, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<Buffer>): grpc.ClientUnaryCall;
  Stream(request: Buffer, metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<Buffer>;
  Chat(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<Buffer, Buffer>;
};

export const EchoClientConstructor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo') as unknown as new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => EchoClient;

export interface UnaryOutcome {
  readonly ok: boolean;
  /** Backend name on success. */
  readonly body?: string;
  readonly code: grpc.status;
  readonly details: string;
}

/** One unary call; never rejects, so tests can count failures. */
export function unary(
  client: EchoClient,
  options: { method?: 'Echo' | 'Other'; metadata?: Record<string, string>; deadline?: grpc.Deadline; body?: string } = {},
): Promise<UnaryOutcome> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
  return new Promise((resolve) => {
    client[options.method ?? 'Echo'](Buffer.from(options.body ?? 'hi'), md, { deadline: options.deadline }, (err, res) => {
      if (err) resolve({ ok: false, code: err.code, details: err.details });
      else resolve({ ok: true, body: res!.toString(), code: grpc.status.OK, details: '' });
    });
  });
}

/** Runs `n` calls, `batch` at a time, and counts answers by backend name (failures under `!CODE`). */
export async function countAnswers(n: number, call: () => Promise<UnaryOutcome>, batch = 25): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let done = 0; done < n; done += batch) {
    const results = await Promise.all(Array.from({ length: Math.min(batch, n - done) }, call));
    for (const r of results) {
      const key = r.ok ? r.body! : `!${grpc.status[r.code]}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}

/** One bidi Chat call: writes `messages`, half-closes, and resolves with the answers (rejects on an error status). */
export function chat(client: EchoClient, messages: readonly string[]): Promise<string[]> {
  const call = client.Chat();
  const got: string[] = [];
  const done = new Promise<string[]>((resolve, reject) => {
    call.on('data', (m: Buffer) => got.push(m.toString()));
    call.on('end', () => resolve(got));
    call.on('error', reject);
  });
  for (const m of messages) call.write(Buffer.from(m));
  call.end();
  return done;
}
