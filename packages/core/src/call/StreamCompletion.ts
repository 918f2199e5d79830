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

export class StreamCompletion {
  private callbacks: Array<(end: StreamEnd) => void> | undefined = [];
  private end: StreamEnd = {};

  /** Whether the stream has ended. */
  get done(): boolean {
    return this.callbacks === undefined;
  }

  /** Runs `callback` when the stream ends; at once if it already has. */
  onComplete(callback: (end: StreamEnd) => void): void {
    if (this.callbacks === undefined) callback(this.end);
    else this.callbacks.push(callback);
  }

  /** Marks the stream ended (idempotent): its body or trailers arrived, or it failed, was reset or was discarded. */
  complete(end: StreamEnd = {}): void {
    const callbacks = this.callbacks;
    if (callbacks === undefined) return;
    this.callbacks = undefined;
    this.end = end;
    for (const callback of callbacks) callback(end);
  }
}
