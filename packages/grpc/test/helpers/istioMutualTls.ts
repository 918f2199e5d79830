/** The names of the mTLS tests: a productpage client calling reviews, as in Istio's Bookinfo. */
export const TARGET = 'reviews.default.svc.cluster.local:9080';
export const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/reviews';
export const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/productpage';

/**
 * istiod's ISTIO_MUTUAL UpstreamTlsContext (certificate provider `default`, ROOTCA, SPIFFE SAN
 * matchers, `istio-peer-exchange, istio` ALPN). `istioAlpn: false` leaves alpn_protocols out, as
 * in a non-Istio context (or one that is Istio only through a `tlsMode: istio` match).
 */
/**
 * An ISTIO_MUTUAL UpstreamTlsContext: with Istio's ALPN as a sidecar's config has it (`istioAlpn`), or
 * without, as istiod's grpc generator writes it; `roots` is the validation certificate_name (Istio's `ROOTCA`).
 */
export function istioMutualSocket(sans: string[], istioAlpn = true, roots = 'ROOTCA'): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        combined_validation_context: {
          default_validation_context: { match_subject_alt_names: sans.map((exact) => ({ exact })) },
          validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: roots },
        },
        ...(istioAlpn ? { alpn_protocols: ['istio-peer-exchange', 'istio'] } : {}),
      },
      sni: 'outbound_.9080_._.reviews.default.svc.cluster.local',
    },
  };
}
