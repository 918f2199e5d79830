import type { PeerCertificate, TLSSocket } from 'node:tls';
import { MeshletTlsError } from './MeshletTlsError.js';
import { SpiffeId } from './SpiffeId.js';
import { subjectAltNamesOfCertificate, type SubjectAltName } from './SubjectAltName.js';

/** The verified identity of the other end of a TLS connection. */
export interface PeerIdentity {
  /** The X.509-SVID identity, when the certificate carries exactly one spiffe:// URI SAN. */
  readonly spiffeId: SpiffeId | undefined;
  readonly subjectAltNames: readonly SubjectAltName[];
  readonly certificate: PeerCertificate;
}

/**
 * The SPIFFE id of a DER certificate. The X.509-SVID spec allows exactly one URI SAN; a certificate
 * with several spiffe:// URIs names no single identity, so it yields undefined rather than a guess.
 */
export function spiffeIdOfCertificate(der: Uint8Array): SpiffeId | undefined {
  return spiffeIdOfSans(subjectAltNamesOfCertificate(der));
}

export function spiffeIdOfSans(sans: readonly SubjectAltName[]): SpiffeId | undefined {
  const ids = sans.filter((s) => s.type === 'URI' && s.value.startsWith('spiffe://'));
  return ids.length === 1 ? SpiffeId.tryParse(ids[0]!.value) : undefined;
}

/**
 * The peer's identity, only if the TLS stack verified its chain: undefined when the peer sent no
 * certificate, and a MeshletTlsError when it sent one that did not verify (possible on servers that
 * request but do not require client certificates, where Node still completes the handshake).
 */
export function verifiedPeerIdentity(socket: TLSSocket): PeerIdentity | undefined {
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || Object.keys(cert).length === 0 || cert.raw === undefined) return undefined;
  if (!socket.authorized) {
    throw new MeshletTlsError('trust', `peer certificate not trusted: ${String(socket.authorizationError ?? 'verification failed')}`);
  }
  const subjectAltNames = subjectAltNamesOfCertificate(cert.raw);
  return { spiffeId: spiffeIdOfSans(subjectAltNames), subjectAltNames, certificate: cert };
}
