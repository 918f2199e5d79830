import type { CommonTlsContext } from '@meshlet/xds-client';
import { ISTIO_SDS_ROOT_SECRET } from './TlsMaterialSource.js';

/** The HTTP protocol a connection will carry, which decides the ALPN list. */
export type HttpProtocol = 'http/1.1' | 'h2';

/**
 * ALPN values Istio's sidecars use to tell mTLS mesh traffic from other TLS. A PERMISSIVE sidecar
 * picks its mTLS filter chain only when the client offers one of the `istio*` values (its filter
 * chain match is `application_protocols: [istio, istio-peer-exchange, istio-http/1.0,
 * istio-http/1.1, istio-h2]`); a STRICT one accepts any ALPN. Offering the istio value first and the
 * plain protocol after it lets both select mTLS, and leaves a non-Istio server free to choose plain
 * `h2`/`http/1.1`. (Stock proxyless gRPC only offers `h2`, so it cannot reach PERMISSIVE servers.)
 */
export const ISTIO_ALPN: Readonly<Record<HttpProtocol, readonly string[]>> = {
  'http/1.1': ['istio-http/1.1', 'istio', 'http/1.1'],
  h2: ['istio-h2', 'istio', 'h2'],
};

/** Values in an UpstreamTlsContext's alpn_protocols that mark Istio mTLS (istiod sets `istio-peer-exchange, istio`). */
const ISTIO_MARKERS = new Set(['istio-peer-exchange', 'istio']);

export function isIstioAlpn(alpnProtocols: readonly string[]): boolean {
  return alpnProtocols.some((p) => ISTIO_MARKERS.has(p));
}

/**
 * A context that lists no ALPN and verifies against Istio's mesh roots (`ROOTCA`, as an SDS secret or a
 * certificate provider's certificate_name) is Istio mTLS too: it is what istiod's `grpc` generator writes
 * for ISTIO_MUTUAL (a bare transport_socket, no ALPN, no tlsMode match; its own comment says proxyless
 * gRPC therefore cannot reach PERMISSIVE servers), and what Meshlet's control-plane translator writes.
 * A context that does list ALPN values keeps them.
 */
export function isIstioRootsContext(common: CommonTlsContext): boolean {
  if (common.alpn_protocols.length > 0) return false;
  return (
    common.validation_context_sds_secret_config?.name === ISTIO_SDS_ROOT_SECRET ||
    common.validation_context?.ca_certificate_provider_instance?.certificate_name === ISTIO_SDS_ROOT_SECRET
  );
}

/**
 * The ALPN list to offer. Istio contexts get the Istio list for the protocol; other contexts offer
 * their configured protocols, or the connection's own protocol when none is configured (Node's
 * HTTP/2 client needs `h2` negotiated).
 */
export function alpnFor(protocol: HttpProtocol, configured: readonly string[], istio: boolean): string[] {
  if (istio) return [...ISTIO_ALPN[protocol]];
  if (configured.length > 0) return [...configured];
  return [protocol];
}
