import type { Dispatcher } from 'undici';

type Body = Dispatcher.DispatchOptions['body'];

/** Envoy's default per-request buffer limit for retries and shadowing is 1 MiB (per_request_buffer_limit_bytes). */
export const DEFAULT_MAX_REPLAY_BYTES = 1024 * 1024;

/**
 * Makes a request body sendable more than once so failed attempts can be
 * retried. Strings and buffers are replayable as they are. Streams (fetch always
 * sends one) are read into memory up to `maxBytes` before the first attempt; a
 * longer stream is sent once, as it comes, and the call is not retried — the
 * same trade Envoy makes with its buffer limit.
 */
export class ReplayableBody {
  private constructor(
    private readonly first: Body,
    readonly replayable: boolean,
  ) {}

  private sent = false;

  /** Without awaiting: a body that is replayable as it is (none, a string, bytes); undefined when it needs `from`. */
  static ofReplayable(body: Body): ReplayableBody | undefined {
    if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return new ReplayableBody(body, true);
    return undefined;
  }

  static async from(body: Body, maxBytes = DEFAULT_MAX_REPLAY_BYTES): Promise<ReplayableBody> {
    const simple = ReplayableBody.ofReplayable(body);
    if (simple !== undefined) return simple;
    const iterable = body as unknown as AsyncIterable<Uint8Array | string>;
    if (typeof iterable[Symbol.asyncIterator] !== 'function') return new ReplayableBody(body, false); // FormData etc.
    const iterator = iterable[Symbol.asyncIterator]();
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return new ReplayableBody(Buffer.concat(chunks, size), true);
      const chunk = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) {
        // Too large to hold: stream what was read, then the rest, once.
        async function* rest(): AsyncGenerator<Buffer> {
          yield* chunks;
          for (;;) {
            const r = await iterator.next();
            if (r.done) return;
            yield typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.from(r.value);
          }
        }
        return new ReplayableBody(rest() as unknown as Body, false);
      }
    }
  }

  /** The body for the next attempt. A non-replayable body can be taken once. */
  take(): Body {
    if (!this.replayable && this.sent) throw new Error('meshlet: request body already sent and not replayable');
    this.sent = true;
    return this.first;
  }
}
