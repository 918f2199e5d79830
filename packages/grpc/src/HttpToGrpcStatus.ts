import { status as Status } from '@grpc/grpc-js';

/**
 * The gRPC status for an HTTP status that came without a grpc-status, per gRPC's
 * "HTTP to gRPC Status Code Mapping" (doc/http-grpc-status-mapping.md), which gRFC A33
 * applies to fault-filter aborts given as `http_status`.
 */
export function grpcStatusForHttp(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}
