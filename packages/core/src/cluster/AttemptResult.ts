/**
 * The outcome of one upstream attempt, reported to {@link ClusterRuntime.reportResult}.
 *
 * - `http`: the upstream answered with this status.
 * - `grpc`: the upstream answered with this gRPC status code; mapped to HTTP the
 *   way Envoy's router does before it reaches the outlier detector.
 * - `local-origin-failure`: connect failure, reset or timeout, i.e. no response.
 * - `local-origin-success`: the connection was established (Envoy's
 *   LocalOriginConnectSuccess); only counted when
 *   `split_external_local_origin_errors` is on.
 */
export type AttemptResult =
  | { readonly kind: 'http'; readonly status: number }
  | { readonly kind: 'grpc'; readonly code: number }
  | { readonly kind: 'local-origin-failure' }
  | { readonly kind: 'local-origin-success' };
