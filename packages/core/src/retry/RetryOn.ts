import type { RetryReason } from './AttemptOutcome.js';

/**
 * retry_on conditions as bits, parsed once per push (Envoy RetryPolicy::RETRY_ON_*).
 * Unknown names are ignored, as Envoy ignores them at runtime after validation.
 */
export const RetryOn = {
  FIVE_XX: 1 << 0,
  GATEWAY_ERROR: 1 << 1,
  RESET: 1 << 2,
  RESET_BEFORE_REQUEST: 1 << 3,
  CONNECT_FAILURE: 1 << 4,
  ENVOY_RATELIMITED: 1 << 5,
  RETRIABLE_4XX: 1 << 6,
  REFUSED_STREAM: 1 << 7,
  RETRIABLE_STATUS_CODES: 1 << 8,
  RETRIABLE_HEADERS: 1 << 9,
  GRPC_CANCELLED: 1 << 10,
  GRPC_DEADLINE_EXCEEDED: 1 << 11,
  GRPC_INTERNAL: 1 << 12,
  GRPC_RESOURCE_EXHAUSTED: 1 << 13,
  GRPC_UNAVAILABLE: 1 << 14,
} as const;

const HTTP_NAMES: Readonly<Record<string, number>> = {
  '5xx': RetryOn.FIVE_XX,
  'gateway-error': RetryOn.GATEWAY_ERROR,
  reset: RetryOn.RESET,
  'reset-before-request': RetryOn.RESET_BEFORE_REQUEST,
  'connect-failure': RetryOn.CONNECT_FAILURE,
  'envoy-ratelimited': RetryOn.ENVOY_RATELIMITED,
  'retriable-4xx': RetryOn.RETRIABLE_4XX,
  'refused-stream': RetryOn.REFUSED_STREAM,
  'retriable-status-codes': RetryOn.RETRIABLE_STATUS_CODES,
  'retriable-headers': RetryOn.RETRIABLE_HEADERS,
};

const GRPC_NAMES: Readonly<Record<string, number>> = {
  cancelled: RetryOn.GRPC_CANCELLED,
  'deadline-exceeded': RetryOn.GRPC_DEADLINE_EXCEEDED,
  internal: RetryOn.GRPC_INTERNAL,
  'resource-exhausted': RetryOn.GRPC_RESOURCE_EXHAUSTED,
  unavailable: RetryOn.GRPC_UNAVAILABLE,
};

/** grpc-status code -> the retry_on bit that retries it (Envoy RetryStateImpl::wouldRetryFromHeaders). */
export const GRPC_STATUS_BITS: ReadonlyMap<number, readonly [number, RetryReason]> = new Map([
  [1, [RetryOn.GRPC_CANCELLED, 'cancelled']],
  [4, [RetryOn.GRPC_DEADLINE_EXCEEDED, 'deadline-exceeded']],
  [8, [RetryOn.GRPC_RESOURCE_EXHAUSTED, 'resource-exhausted']],
  [13, [RetryOn.GRPC_INTERNAL, 'internal']],
  [14, [RetryOn.GRPC_UNAVAILABLE, 'unavailable']],
]);

/**
 * Envoy's router accepts both the HTTP and the gRPC names on any route (the gRPC
 * ones apply to responses carrying grpc-status). gRFC A44: a gRPC client supports
 * only the gRPC status names and ignores the rest.
 */
export function parseRetryOn(names: readonly string[], kind: 'http' | 'grpc'): number {
  let bits = 0;
  for (const raw of names) {
    const name = raw.trim();
    bits |= GRPC_NAMES[name] ?? (kind === 'http' ? (HTTP_NAMES[name] ?? 0) : 0);
  }
  return bits;
}
