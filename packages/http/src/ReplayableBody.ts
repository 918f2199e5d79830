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
  /** Bytes of a streamed (too large to hold) body that went out so far; undefined for other bodies. */
  private streamed: number | undefined;

  /** No body (most requests: GET, HEAD): one shared instance each for undefined and null, not one per request. */
  private static readonly NONE = new ReplayableBody(undefined, true);
  private static readonly NULL = new ReplayableBody(null, true);

  /** Without awaiting: a body that is replayable as it is (none, a string, bytes); undefined when it needs `from`. */
  static ofReplayable(body: Body): ReplayableBody | undefined {
    if (body === undefined) return ReplayableBody.NONE;
    if (body === null) return ReplayableBody.NULL;
    if (typeof body === 'string' || body instanceof Uint8Array) return new ReplayableBody(body, true);
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
        // The bytes are counted as undici pulls them, so a body cut short reports what was sent.
        let body: ReplayableBody;
        async function* rest(): AsyncGenerator<Buffer> {
          for (const held of chunks) {
            body.streamed! += held.length;
            yield held;
          }
          for (;;) {
            const r = await iterator.next();
            if (r.done) return;
            const next = typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.from(r.value);
            body.streamed! += next.length;
            yield next;
          }
        }
        body = new ReplayableBody(rest() as unknown as Body, false);
        body.streamed = 0;
        return body;
      }
    }
  }

  /**
   * The body's size in bytes (Istio's request_bytes): its length when held in memory, the bytes
   * sent so far when streamed, undefined for bodies undici encodes itself (FormData, Blob...).
   * Computed when read (call end), not per request.
   */
  get bytes(): number | undefined {
    const body = this.first;
    if (body === null || body === undefined) return 0;
    if (typeof body === 'string') return Buffer.byteLength(body);
    if (body instanceof Uint8Array) return body.byteLength;
    return this.streamed;
  }

  /** The body for the next attempt. A non-replayable body can be taken once. */
  take(): Body {
    // Only a body that cannot be replayed is marked: a replayable one (the shared NONE and NULL among them) is not written.
    if (!this.replayable) {
      if (this.sent) throw new Error('meshlet: request body already sent and not replayable');
      this.sent = true;
    }
    return this.first;
  }
}
