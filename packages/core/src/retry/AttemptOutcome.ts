import type { HeaderLookup } from '../call/HeaderLookup.js';

/**
 * How one attempt ended, as the retry policy needs to see it.
 * - `response`: the upstream answered with headers (gRPC: a Trailers-Only response or
 *   headers carrying grpc-status, gRFC A44 — once a gRPC response has committed, it is
 *   never retried, so the transport reports grpcStatus only when it is known up front).
 * - `connect-failure`: no connection (Envoy LocalConnectionFailure/RemoteConnectionFailure/ConnectionTimeout).
 * - `reset`: the stream was reset after being opened. `requestStarted: false` says no
 *   request bytes reached the upstream (drives `reset-before-request`); default true.
 * - `refused-stream`: an HTTP/2 RST_STREAM REFUSED_STREAM (the server did not process it).
 * - `per-try-timeout`: retry_policy.per_try_timeout expired.
 */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly headers: HeaderLookup; readonly grpcStatus?: number }
  | { readonly kind: 'connect-failure' | 'refused-stream' | 'per-try-timeout' }
  | { readonly kind: 'reset'; readonly requestStarted?: boolean };

/** The retry_on condition that made an outcome retriable. */
export type RetryReason =
  | '5xx'
  | 'gateway-error'
  | 'reset'
  | 'reset-before-request'
  | 'connect-failure'
  | 'envoy-ratelimited'
  | 'retriable-4xx'
  | 'refused-stream'
  | 'retriable-status-codes'
  | 'retriable-headers'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal'
  | 'resource-exhausted'
  | 'unavailable';
