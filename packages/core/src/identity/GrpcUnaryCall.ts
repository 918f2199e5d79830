import { connect, constants, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';

export interface GrpcUnaryCallOptions {
  /** `https://host:port` */
  readonly authority: string;
  /** `/package.Service/Method` */
  readonly path: string;
  readonly message: Uint8Array;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly tls: SecureClientSessionOptions;
  readonly timeoutMs: number;
}

/** A failed gRPC call; `status` is the grpc-status code (14 UNAVAILABLE for transport failures). */
export class GrpcCallError extends Error {
  override readonly name = 'GrpcCallError';
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_INTERNAL = 13;

/**
 * One unary gRPC call over node:http2 (length-prefixed message, status in trailers). The Istio CA
 * call is the only gRPC Meshlet core makes on its own, so it does not pull in a gRPC client library;
 * one session per call is fine at one call per certificate half-life.
 */
export function grpcUnaryCall(options: GrpcUnaryCallOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let session: ClientHttp2Session | undefined;
    let settled = false;
    const finish = (err: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session?.close();
      session?.destroy();
      if (err !== undefined) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(new GrpcCallError(GRPC_DEADLINE_EXCEEDED, `${options.path}: deadline of ${options.timeoutMs} ms exceeded`)), options.timeoutMs);
    timer.unref();

    session = connect(options.authority, { ...options.tls, ALPNProtocols: ['h2'] });
    session.on('error', (err) => finish(new GrpcCallError(GRPC_UNAVAILABLE, `${options.path}: ${err.message}`, { cause: err })));
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: options.path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${Math.max(1, Math.ceil(options.timeoutMs))}m`,
      ...options.metadata,
    });
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let statusMessage = '';
    const readStatus = (headers: Record<string, unknown>): void => {
      if (headers['grpc-status'] !== undefined) {
        status = Number(headers['grpc-status']);
        statusMessage = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      }
    };
    req.on('response', (headers) => {
      const httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
      if (httpStatus !== 200) {
        finish(new GrpcCallError(GRPC_UNAVAILABLE, `${options.path}: HTTP status ${httpStatus}`));
        return;
      }
      readStatus(headers); // trailers-only responses carry the status here
    });
    req.on('trailers', (trailers) => readStatus(trailers));
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', (err) => finish(new GrpcCallError(GRPC_UNAVAILABLE, `${options.path}: ${err.message}`, { cause: err })));
    req.on('end', () => {
      if (status === undefined) return finish(new GrpcCallError(GRPC_INTERNAL, `${options.path}: response without grpc-status`));
      if (status !== 0) return finish(new GrpcCallError(status, `${options.path}: grpc-status ${status}${statusMessage !== '' ? `: ${statusMessage}` : ''}`));
      const body = Buffer.concat(chunks);
      if (body.length < 5) return finish(new GrpcCallError(GRPC_INTERNAL, `${options.path}: empty response`));
      if (body[0] !== 0) return finish(new GrpcCallError(GRPC_INTERNAL, `${options.path}: compressed responses are not supported`));
      const length = body.readUInt32BE(1);
      if (body.length < 5 + length) return finish(new GrpcCallError(GRPC_INTERNAL, `${options.path}: truncated response`));
      finish(undefined, body.subarray(5, 5 + length));
    });
    const frame = Buffer.alloc(5 + options.message.length);
    frame.writeUInt8(0, 0); // not compressed
    frame.writeUInt32BE(options.message.length, 1);
    Buffer.from(options.message).copy(frame, 5);
    req.end(frame);
  });
}
