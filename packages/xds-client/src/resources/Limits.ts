import { ValidationError } from './ValidationError.js';

/**
 * Size limits on xDS input, in one place. Each bound is far above anything a real control plane
 * sends (istiod, Traffic Director, Envoy Gateway), and low enough that a runaway or hostile
 * resource is rejected with a ValidationError naming the limit instead of exhausting memory or
 * CPU in every process of the mesh. A resource over a limit is NACKed like any invalid resource;
 * the last good config keeps serving.
 */
export const LIMITS = {
  /**
   * Encoded size of one resource (the Any's value), checked before protobuf decoding. Envoy has no
   * per-resource bound (only gRPC's message size); 16 MiB is 4x grpc-js's default receive limit.
   */
  MAX_RESOURCE_BYTES: 16 * 1024 * 1024,
  /** virtual_hosts in one RouteConfiguration. */
  MAX_VIRTUAL_HOSTS: 100_000,
  /** routes in one VirtualHost (matching is first-match-wins, linear in the route count). */
  MAX_ROUTES_PER_VIRTUAL_HOST: 100_000,
  /** Header name in a header mutation or matcher: envoy.config.core.v3.HeaderValue.key max_bytes (PGV). */
  MAX_HEADER_NAME_BYTES: 16_384,
  /** Header value set by a header mutation: envoy.config.core.v3.HeaderValue.value max_bytes (PGV). */
  MAX_HEADER_VALUE_BYTES: 16_384,
  /**
   * A string a matcher compares with (exact / prefix / suffix / contains): Envoy's default
   * max_request_headers_kb (60 KiB), the most a whole request header block may hold.
   */
  MAX_MATCH_STRING_BYTES: 60 * 1024,
  /**
   * RE2 pattern source. re2-wasm exposes no program size (Envoy's re2.max_program_size), so the
   * source is bounded; RE2 itself caps repetition counts at 1000 and its compiled program at its
   * max_mem, so a short pattern cannot expand into a huge program either.
   */
  MAX_REGEX_BYTES: 8_192,
} as const;

export type LimitName = keyof typeof LIMITS;

/** Why a value was refused: its size, the limit and the limit's name (for a NACK's error_detail). */
export function overLimit(what: string, size: number, unit: string, limit: LimitName): string {
  return `${what} has ${size} ${unit}, over the limit of ${LIMITS[limit]} (${limit})`;
}

/** Throws a ValidationError at `path` when `s` is longer in UTF-8 than the limit allows. */
export function checkStringBytes(s: string, path: string, what: string, limit: LimitName): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no count.
  if (s.length * 3 <= LIMITS[limit]) return;
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes > LIMITS[limit]) throw new ValidationError(path, overLimit(what, bytes, 'bytes', limit));
}

/** Throws a ValidationError at `path` when a repeated field has more entries than the limit allows. */
export function checkCount(n: number, path: string, what: string, limit: LimitName): void {
  if (n > LIMITS[limit]) throw new ValidationError(path, overLimit(what, n, 'entries', limit));
}
