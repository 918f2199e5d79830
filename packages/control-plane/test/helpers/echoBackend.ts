import * as grpc from '@grpc/grpc-js';

/**
 * A proto-less gRPC service for interop tests: raw Buffers in and out, so no .proto file
 * is needed. Every backend answers every method with its own id.
 */
const identity = (value: Buffer): Buffer => value;

function unary(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export const GREETER_SERVICE = {
  SayHello: unary('/meshlet.test.Greeter/SayHello'),
  Pinned: unary('/meshlet.test.Greeter/Pinned'),
};

export type GreeterClient = grpc.Client & {
  SayHello(request: Buffer, callback: grpc.requestCallback<Buffer>): grpc.ClientUnaryCall;
  Pinned(request: Buffer, callback: grpc.requestCallback<Buffer>): grpc.ClientUnaryCall;
};

export const GreeterClientConstructor = grpc.makeGenericClientConstructor(GREETER_SERVICE, 'Greeter') as unknown as new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => GreeterClient;

export interface EchoBackend {
  id: string;
  port: number;
  close(): Promise<void>;
}

export async function startEchoBackend(id: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  const answer: grpc.handleUnaryCall<Buffer, Buffer> = (_call, callback) => callback(null, Buffer.from(id));
  server.addService(GREETER_SERVICE, { SayHello: answer, Pinned: answer });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    id,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        server.forceShutdown();
      }),
  };
}

/** One unary call; resolves with the id of the backend that answered. */
export function callMethod(client: GreeterClient, method: 'SayHello' | 'Pinned'): Promise<string> {
  return new Promise((resolve, reject) => {
    client[method](Buffer.from('hi'), (error, response) => (error ? reject(error) : resolve(response!.toString())));
  });
}
