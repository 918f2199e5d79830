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
