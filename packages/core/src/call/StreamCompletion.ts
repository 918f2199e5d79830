/**
 * The end of one response stream, observed once. Envoy keeps a request active (it holds its
 * `max_requests` circuit-breaker slot, its fault filter's `max_active_faults` slot, and its
 * access-log duration keeps running) until the stream completes, not when the response headers
 * arrive; transports use this to tell the call engine when that is (see AttemptResponse.onStreamEnd).
 */
/** What is known when a stream ends: the gRPC status from its trailers, for gRPC. */
export interface StreamEnd {
  readonly grpcStatus?: number;
}

/** An object told when a stream ends (the engine's call, so that it costs no closure per call). */
export interface StreamEndObject {
  streamEnded(end: StreamEnd): void;
}

/** Told when a stream ends: a function, or an object with streamEnded. */
export type StreamEndListener = ((end: StreamEnd) => void) | StreamEndObject;

/** The end of a stream that carried no status (shared: nothing is allocated per stream). */
export const NO_STREAM_STATUS: StreamEnd = Object.freeze({});

export class StreamCompletion {
  private ended = false;
  private end: StreamEnd = NO_STREAM_STATUS;
  /** Most streams get one callback (the engine's); more go to `more`. Nothing is allocated until then. */
  private first: StreamEndListener | undefined;
  private more: StreamEndListener[] | undefined;

  /** Whether the stream has ended. */
  get done(): boolean {
    return this.ended;
  }

  /** Tells `callback` when the stream ends; at once if it already has. */
  onComplete(callback: StreamEndListener): void {
    if (this.ended) tellStreamEnd(callback, this.end);
    else if (this.first === undefined) this.first = callback;
    else (this.more ??= []).push(callback);
  }

  /** Marks the stream ended (idempotent): its body or trailers arrived, or it failed, was reset or was discarded. */
  complete(end: StreamEnd = NO_STREAM_STATUS): void {
    if (this.ended) return;
    this.ended = true;
    this.end = end;
    const first = this.first;
    const more = this.more;
    this.first = this.more = undefined;
    if (first !== undefined) tellStreamEnd(first, end);
    if (more !== undefined) for (const callback of more) tellStreamEnd(callback, end);
  }
}

/** Tells one listener (a function or a StreamEndObject) that its stream ended. */
export function tellStreamEnd(listener: StreamEndListener, end: StreamEnd): void {
  if (typeof listener === 'function') listener(end);
  else listener.streamEnded(end);
}
