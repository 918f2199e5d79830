import type { CallSummary } from '../call/CallObserver.js';

/**
 * The call's final grpc-status: from the trailers the stream ended with (reported by the
 * transport at stream end), else the one known up front (Trailers-Only or headers carrying
 * grpc-status, gRFC A44).
 */
export function finalGrpcStatus(summary: CallSummary): number | undefined {
  if (summary.grpcStatus !== undefined) return summary.grpcStatus;
  const last = summary.attempts[summary.attempts.length - 1];
  return last?.outcome.kind === 'response' ? last.outcome.grpcStatus : undefined;
}
