import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { AttemptError, MeshCallError, ResponseFlag, type LocalReply, type ResponseFlagCode } from '@meshlet/core/client';
import { grpcStatusForHttp } from './HttpToGrpcStatus.js';

/** Trailer naming the Envoy response flags of a call the mesh answered itself. */
export const RESPONSE_FLAGS_KEY = 'x-meshlet-response-flags';

/**
 * The gRPC status for a call that ended without an upstream response to hand back.
 * - NR / NC / UH / UO / UF / UR / URX: UNAVAILABLE. gRFC A28 fails RPCs that match no route
 *   with UNAVAILABLE (not UNIMPLEMENTED: the server was never asked), and a missing
 *   cluster, no healthy host or an open circuit breaker (gRFC A32) are all UNAVAILABLE.
 * - UT: DEADLINE_EXCEEDED, the max_stream_duration / grpc_timeout_header_max bound (gRFC A31).
 * - DC: CANCELLED (the caller went away).
 * The details carry the MeshCallError message: target, route, cluster, flags, attempts, and
 * why the last attempt failed when it got no response (e.g. which mTLS check refused the
 * connection), as Envoy's local reply body carries the transport failure reason.
 */
export function statusForMeshError(err: MeshCallError): StatusObject {
  const cause = err.cause instanceof AttemptError ? `: ${err.cause.message}` : '';
  return {
    code: codeForFlag(err.flag, err.localReply),
    details: `${err.message}${cause}`,
    metadata: flagsMetadata(err.flags),
  };
}

/**
 * A reply the mesh generated instead of calling upstream: a fault abort (gRFC A33: its
 * grpc_status, else its http_status mapped) or a direct_response.
 */
export function statusForLocalReply(reply: LocalReply, target: string): StatusObject {
  const code = reply.grpcStatus ?? grpcStatusForHttp(reply.status);
  const why = reply.body ? `: ${reply.body}` : '';
  return {
    code,
    details: `meshlet: ${target}${why} (${reply.flags.join(',') || 'local reply'})`,
    metadata: flagsMetadata(reply.flags),
  };
}

function codeForFlag(flag: ResponseFlagCode, reply: LocalReply): Status {
  switch (flag) {
    case ResponseFlag.UPSTREAM_REQUEST_TIMEOUT:
    case ResponseFlag.UPSTREAM_MAX_STREAM_DURATION_REACHED:
      return Status.DEADLINE_EXCEEDED;
    case ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION:
      return Status.CANCELLED;
    case ResponseFlag.NO_ROUTE_FOUND:
    case ResponseFlag.NO_CLUSTER_FOUND:
    case ResponseFlag.NO_HEALTHY_UPSTREAM:
    case ResponseFlag.UPSTREAM_OVERFLOW:
    case ResponseFlag.UPSTREAM_CONNECTION_FAILURE:
    case ResponseFlag.UPSTREAM_REMOTE_RESET:
    case ResponseFlag.UPSTREAM_CONNECTION_TERMINATION:
    case ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED:
      return Status.UNAVAILABLE;
    default:
      return reply.grpcStatus ?? grpcStatusForHttp(reply.status);
  }
}

function flagsMetadata(flags: readonly ResponseFlagCode[]): Metadata {
  const md = new Metadata();
  if (flags.length > 0) md.set(RESPONSE_FLAGS_KEY, flags.join(','));
  return md;
}
