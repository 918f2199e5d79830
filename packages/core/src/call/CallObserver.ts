import type { AttemptRecord } from './MeshCallError.js';
import type { ResponseFlagCode } from './ResponseFlags.js';
import type { AttemptRequest } from './AttemptTransport.js';
import type { RetryReason } from '../retry/AttemptOutcome.js';

export interface CallSummary {
  readonly target: string;
  readonly route: string | undefined;
  readonly cluster: string | undefined;
  readonly flags: readonly ResponseFlagCode[];
  readonly attempts: readonly AttemptRecord[];
  /** Final status (upstream or local reply); undefined when the call failed without one. */
  readonly status: number | undefined;
  /** gRPC: the status the stream ended with (trailers), when the transport reported it. */
  readonly grpcStatus?: number;
  readonly durationMs: number;
  readonly error?: unknown;
  /**
   * The body bytes the transport moved for this call (see LogicalRequest.bytes), when it counts
   * them. A live counter owned by the transport, not a copy: read it in onCallEnd.
   */
  readonly bytes?: BodyByteCounts | undefined;
}

/**
 * Body bytes of one logical call, counted by the transport as they stream (a number added per
 * chunk or message, nothing allocated). Request bytes are the caller's body, once however many
 * attempts sent it; response bytes are those of the response the caller got. Undefined when the
 * transport cannot know (e.g. an HTTP FormData body).
 */
export interface BodyByteCounts {
  readonly requestBodyBytes: number | undefined;
  readonly responseBodyBytes: number | undefined;
}

/**
 * Hooks for tracing and metrics; every method optional. Called synchronously on the call
 * path, so implementations must be cheap and must not throw.
 */
export interface CallObserver {
  onAttemptStart?(attempt: AttemptRequest): void;
  onAttemptEnd?(attempt: AttemptRequest, record: AttemptRecord, retryReason: RetryReason | undefined): void;
  onCallEnd?(summary: CallSummary): void;
}
