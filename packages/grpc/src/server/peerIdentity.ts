import { spiffeIdOfSans, subjectAltNamesOfCertificate, type PeerIdentity } from '@meshlet/core';

/** Anything that exposes grpc-js's auth context: handler call objects and server intercepting calls. */
export interface HasAuthContext {
  getAuthContext(): { readonly sslPeerCertificate?: { readonly raw?: Buffer } | undefined };
}

/**
 * The verified client certificate identity of the connection a call came on (gRFC A36 / A29 mTLS),
 * for handlers: `peerIdentity(call)?.spiffeId?.toString()` is e.g.
 * `spiffe://cluster.local/ns/default/sa/frontend`. Undefined on plaintext connections and when the
 * client sent no certificate. Reads grpc-js's auth context, so it works for any grpc-js server call.
 */
export function peerIdentity(call: HasAuthContext): PeerIdentity | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert?.raw === undefined) return undefined;
  const subjectAltNames = subjectAltNamesOfCertificate(cert.raw);
  return { spiffeId: spiffeIdOfSans(subjectAltNames), subjectAltNames, certificate: cert as PeerIdentity['certificate'] };
}

/** The peer's SPIFFE id as a string (`spiffe://…`), or undefined. */
export function peerSpiffeId(call: HasAuthContext): string | undefined {
  return peerIdentity(call)?.spiffeId?.toString();
}
