/** Which check refused a TLS connection; stable, for metrics and for callers that branch on it. */
export type TlsCheck =
  | 'config' // the transport socket config cannot be honoured
  | 'identity' // our own certificate/key is missing
  | 'trust' // the peer's chain does not lead to a trusted CA
  | 'expired' // the peer's certificate is outside its validity period
  | 'san' // the peer's SANs match none of the configured matchers
  | 'peer-certificate' // the peer presented no certificate
  | 'rejected-by-peer' // the peer refused our certificate
  | 'handshake'; // any other TLS failure

/**
 * A refused mTLS connection. The message says which check failed, in the form
 * `meshlet mTLS: <what>: <detail>`, because "certificate verify failed" alone leaves an operator
 * guessing between a rotated root, a wrong service account and a clock problem.
 */
export class MeshletTlsError extends Error {
  override readonly name = 'MeshletTlsError';
  readonly code = 'MESHLET_TLS';
  constructor(
    readonly check: TlsCheck,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`meshlet mTLS: ${message}`, options);
  }
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_PURPOSE',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
// TLS alerts the peer sends when it refuses our client certificate (OpenSSL reason -> Node code).
const REJECTED_BY_PEER = new Map<string, string>([
  ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'the server requires a client certificate'],
  ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'the peer does not trust our certificate\'s CA'],
  ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'the peer rejected our certificate'],
  ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'the peer says our certificate has expired'],
  ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'handshake failure alert from the peer'],
  ['ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL', 'the peer accepts none of our ALPN protocols'],
]);

/**
 * Explains a Node/OpenSSL TLS error in terms of the failed check. `peer` names the other side
 * ('server' on a client connection, 'client' on a server one). A MeshletTlsError passes through.
 */
export function explainTlsError(err: unknown, peer: 'server' | 'client'): MeshletTlsError {
  if (err instanceof MeshletTlsError) return err;
  const code = typeof err === 'object' && err !== null ? String((err as { code?: unknown }).code ?? '') : '';
  const message = err instanceof Error ? err.message : String(err);
  if (UNTRUSTED.has(code)) {
    return new MeshletTlsError('trust', `${peer} certificate not trusted: it does not chain to the configured CA (${code}: ${message})`, { cause: err });
  }
  if (EXPIRED.has(code)) {
    const what = code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not yet valid';
    return new MeshletTlsError('expired', `${peer} certificate ${what} (${code})`, { cause: err });
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') {
    return new MeshletTlsError('peer-certificate', `${peer} presented no certificate (${code})`, { cause: err });
  }
  const rejected = REJECTED_BY_PEER.get(code);
  if (rejected !== undefined) return new MeshletTlsError('rejected-by-peer', `${rejected} (${code})`, { cause: err });
  return new MeshletTlsError('handshake', `TLS handshake with ${peer} failed: ${code !== '' ? `${code}: ` : ''}${message}`, { cause: err });
}
