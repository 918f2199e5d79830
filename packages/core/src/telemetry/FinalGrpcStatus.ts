import type { CallSummary } from '../call/CallObserver.js';

/**
 * The grpc-status the engine saw for the response it returned, when it was known up front
 * (Trailers-Only or headers carrying grpc-status, gRFC A44). A status that only arrives in
 * trailers after the body is beyond the engine, so it is undefined here.
 */
export function finalGrpcStatus(summary: CallSummary): number | undefined {
  const last = summary.attempts[summary.attempts.length - 1];
  return last?.outcome.kind === 'response' ? last.outcome.grpcStatus : undefined;
}
