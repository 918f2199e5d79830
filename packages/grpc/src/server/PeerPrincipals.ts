import { X509Certificate } from 'node:crypto';
import type { ServerInterceptingCallInterface } from '@grpc/grpc-js';
import { subjectAltNamesOfCertificate, type PeerIdentity, type PeerPrincipal } from '@meshlet/core';

/** A TLS connection whose client sent no certificate: gRFC A41 matches `principal_name` against "". */
const ANONYMOUS_TLS: PeerPrincipal = Object.freeze({ uriSans: Object.freeze([]) as readonly string[], dnsSans: Object.freeze([]) as readonly string[] });

/**
 * The RBAC principal (gRFC A41 `authenticated`) of one TLS connection. Connections Meshlet
 * terminates itself carry the identity verified at the handshake; connections whose TLS grpc-js
 * terminates (non-xDS secure credentials) read it once from the call's auth context.
 */
export class PeerPrincipals {
  private cached: PeerPrincipal | undefined;

  private constructor(fixed?: PeerPrincipal) {
    this.cached = fixed;
  }

  /** Read from the first call's auth context (grpc-js did the handshake). */
  static fromAuthContext(): PeerPrincipals {
    return new PeerPrincipals();
  }

  /** The identity Meshlet verified at its own handshake. */
  static fixed(identity: PeerIdentity | undefined): PeerPrincipals {
    return new PeerPrincipals(principalOf(identity));
  }

  of(call: ServerInterceptingCallInterface): PeerPrincipal {
    if (this.cached === undefined) {
      const cert = call.getAuthContext().sslPeerCertificate;
      if (cert?.raw === undefined) return ANONYMOUS_TLS; // not cached: the handshake may not be visible yet
      this.cached = principalOf({ spiffeId: undefined, subjectAltNames: subjectAltNamesOfCertificate(cert.raw), certificate: cert });
    }
    return this.cached;
  }
}

export function principalOf(identity: PeerIdentity | undefined): PeerPrincipal {
  if (identity === undefined) return ANONYMOUS_TLS;
  const uriSans = identity.subjectAltNames.filter((s) => s.type === 'URI').map((s) => s.value);
  const dnsSans = identity.subjectAltNames.filter((s) => s.type === 'DNS').map((s) => s.value);
  return { uriSans, dnsSans, subject: subjectOf(identity.certificate.raw) };
}

/** The subject as an RFC 2253 string: most significant RDN last, comma-separated. */
function subjectOf(raw: Buffer | undefined): string {
  if (raw === undefined) return '';
  try {
    return new X509Certificate(raw).subject.split('\n').filter((l) => l !== '').reverse().join(',');
  } catch {
    return '';
  }
}
