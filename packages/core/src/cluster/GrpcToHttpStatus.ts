/**
 * gRPC status code -> HTTP status, the mapping Envoy's router applies before
 * handing a gRPC response to the outlier detector (Grpc::Utility::grpcToHttpStatus),
 * so UNAVAILABLE counts as a 503 gateway failure, INTERNAL as a 5xx, and so on.
 */
const TABLE: readonly number[] = [
  200, // OK
  499, // CANCELLED
  500, // UNKNOWN
  400, // INVALID_ARGUMENT
  504, // DEADLINE_EXCEEDED
  404, // NOT_FOUND
  409, // ALREADY_EXISTS
  403, // PERMISSION_DENIED
  429, // RESOURCE_EXHAUSTED
  400, // FAILED_PRECONDITION
  409, // ABORTED
  400, // OUT_OF_RANGE
  501, // UNIMPLEMENTED
  500, // INTERNAL
  503, // UNAVAILABLE
  500, // DATA_LOSS
  401, // UNAUTHENTICATED
];

export function grpcToHttpStatus(code: number): number {
  return TABLE[code] ?? 500;
}
