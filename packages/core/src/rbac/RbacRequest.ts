import type { HeaderLookup } from '../routing/RequestView.js';

/**
 * The verified peer identity of a TLS connection (gRFC A41 `authenticated`).
 * Pass it for every TLS connection; a TLS connection without a client certificate is
 * `{ uriSans: [], dnsSans: [] }` (then `principal_name` is checked against ""), and a plaintext
 * connection is `undefined` (then `authenticated` never matches).
 */
export interface PeerPrincipal {
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** The certificate subject as an RFC 2253 string. */
  readonly subject?: string;
}

/** What the RBAC engine reads from one request (one RPC). */
export interface RbacRequest {
  /** `:path`, e.g. `/pkg.Service/Method` (gRFC A41: url_path is the fully-qualified method with leading slash). */
  readonly path: string;
  /** `:method`; 'POST' for gRPC. */
  readonly method: string;
  /** `:authority` (or Host). When absent, read from headers `:authority` then `host`. */
  readonly authority?: string;
  /** Lower-case names; repeated values joined with ',' (gRFC A41). Binary headers base64-encoded. */
  readonly headers: HeaderLookup;
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly principal?: PeerPrincipal;
}

/** The outcome of one RBAC filter (or chain). */
export interface RbacDecision {
  readonly allowed: boolean;
  /** The policy that decided: the matching ALLOW policy, or the matching DENY policy. */
  readonly matchedPolicy?: string;
}
