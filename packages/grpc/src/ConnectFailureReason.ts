import { explainTlsError } from '@meshlet/core/client';

/**
 * OpenSSL verify results and TLS alerts, as their text reaches a call: grpc-js keeps only the
 * connection error's string (`No connection established. Last error: Error: <message>`), not
 * its `code`, so the code is recovered from the message to name the failed check.
 */
const TLS_FAILURES: ReadonlyArray<readonly [RegExp, string]> = [
  [/self[- ]signed certificate in certificate chain/i, 'SELF_SIGNED_CERT_IN_CHAIN'],
  [/self[- ]signed certificate/i, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  [/unable to verify the first certificate/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/unable to get local issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  [/unable to get issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT'],
  [/certificate signature failure/i, 'CERT_SIGNATURE_FAILURE'],
  [/alert certificate expired/i, 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED'],
  [/certificate has expired/i, 'CERT_HAS_EXPIRED'],
  [/certificate is not yet valid/i, 'CERT_NOT_YET_VALID'],
  [/alert certificate required/i, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
  [/alert unknown ca/i, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'],
  [/alert bad certificate/i, 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'],
  [/alert no application protocol/i, 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL'],
  [/alert handshake failure/i, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'],
];

/** grpc-js's form: `No connection established. Last error: <String(error)>. Resolution note: <note>`. */
const LAST_ERROR = /Last error: (?:[A-Za-z]*Error: )?([\s\S]*?)(?:\. Resolution note:[\s\S]*)?$/;

/**
 * A server that does not speak TLS on that port ends the handshake. That is also what a
 * PERMISSIVE Istio sidecar does to a client that offers no `istio*` ALPN value: it passes the TLS
 * connection through to the plaintext app. Meshlet offers `istio-h2, istio, h2` for Istio mTLS
 * contexts; a non-Istio context, or a grpc-js without the connector hook (stock `h2` only), does
 * not (see the README).
 */
const NOT_TLS = /before secure TLS connection was established|wrong version number|packet length too long/i;
const NOT_TLS_HINT = '(the server does not speak TLS on this port; a PERMISSIVE Istio sidecar also passes TLS through to its plaintext app when the client offers no Istio ALPN value, which Meshlet offers only for Istio mTLS contexts: a tlsMode: istio match or istio in alpn_protocols)';

/**
 * Why a connection to an endpoint failed, in Meshlet's mTLS terms when it was a TLS failure
 * (`meshlet mTLS: server certificate not trusted ...`), else grpc-js's details as they are.
 * A failed SAN check already reads `meshlet mTLS: ... SAN mismatch` (our checkServerIdentity).
 */
export function connectFailureReason(details: string): string {
  const lastError = LAST_ERROR.exec(details)?.[1] ?? details;
  if (NOT_TLS.test(lastError)) {
    // Our connector already says `meshlet mTLS: TLS handshake with server failed: ...`; grpc-js's
    // (the fallback) gives Node's message alone.
    const what = lastError.startsWith('meshlet mTLS:') ? lastError.trim() : `meshlet mTLS: TLS handshake with server failed: ${lastError.trim()}`;
    return `${what} ${NOT_TLS_HINT}`;
  }
  if (lastError.startsWith('meshlet mTLS:')) return lastError;
  for (const [pattern, code] of TLS_FAILURES) {
    if (pattern.test(lastError)) return explainTlsError(Object.assign(new Error(lastError), { code }), 'server').message;
  }
  return details;
}
