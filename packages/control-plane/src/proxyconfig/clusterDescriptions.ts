import type { Cluster, LoadBalancingPolicy, OutlierDetection } from '@meshlet/xds-client';
import type { ClusterView, OutlierView } from './ProxyConfigView.js';

/** Envoy's circuit-breaker defaults (DEFAULT priority): 1024 / 1024 / 1024 / 3. */
const BREAKER_DEFAULTS = { max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 } as const;

export function describeLbPolicy(p: LoadBalancingPolicy): string {
  switch (p.policy) {
    case 'LEAST_REQUEST':
      return `LEAST_REQUEST(choice_count=${p.choice_count})`;
    case 'RING_HASH':
      return `RING_HASH(min=${p.minimum_ring_size}, max=${p.maximum_ring_size}, ${p.hash_function})`;
    case 'MAGLEV':
      return `MAGLEV(table_size=${p.table_size})`;
    case 'PICK_FIRST':
      return p.shuffle_address_list ? 'PICK_FIRST(shuffle)' : 'PICK_FIRST';
    default:
      return p.policy;
  }
}

/**
 * Outlier detection as it will run: Envoy's defaults (5 x 5xx, 10 s, 30 s, 300 s or the base time if
 * longer, 10 %, no always_eject_one_host) filled in.
 */
export function effectiveOutlier(o: OutlierDetection): OutlierView {
  const base = o.base_ejection_time ?? 30_000;
  return {
    consecutive_5xx: o.consecutive_5xx ?? 5,
    consecutive_gateway_failure: o.consecutive_gateway_failure ?? 5,
    interval_ms: o.interval ?? 10_000,
    base_ejection_time_ms: base,
    max_ejection_time_ms: o.max_ejection_time ?? Math.max(300_000, base),
    max_ejection_percent: o.max_ejection_percent ?? 10,
    always_eject_one_host: o.always_eject_one_host ?? false,
  };
}

function describeTls(c: Cluster): string | undefined {
  const tls = c.transport_socket?.upstream_tls;
  const matched = c.transport_socket_matches.some((m) => m.transport_socket.upstream_tls !== undefined);
  if (!tls) return matched ? 'mTLS for endpoints labelled tlsMode=istio (transport_socket_matches)' : undefined;
  const ctx = tls.common_tls_context;
  const client = ctx.tls_certificate_provider_instance !== undefined || ctx.tls_certificate_sds_secret_configs.length > 0 || ctx.tls_certificates.length > 0;
  const sans = [
    ...(ctx.validation_context?.match_subject_alt_names ?? []),
    ...(ctx.validation_context?.match_typed_subject_alt_names ?? []).map((t) => t.matcher),
  ].map((m) => m.exact ?? m.prefix ?? m.safe_regex?.regex ?? '?');
  return `${client ? 'mTLS' : 'TLS'}${tls.sni ? ` sni=${tls.sni}` : ''}${sans.length > 0 ? ` SAN ${sans.join(',')}` : ''}`;
}

export function describeCluster(name: string, c: Cluster | undefined): ClusterView {
  if (!c) return { name, found: false };
  const t = c.circuit_breakers?.thresholds.find((x) => x.priority === 'DEFAULT');
  const tls = describeTls(c);
  return {
    name,
    found: true,
    type: c.type,
    ...(c.eds_service_name !== undefined && c.eds_service_name !== name ? { eds_service_name: c.eds_service_name } : {}),
    lb_policy: describeLbPolicy(c.lb_policy),
    connect_timeout_ms: c.connect_timeout ?? 5000,
    protocol: c.protocol,
    circuit_breakers: {
      max_connections: t?.max_connections ?? BREAKER_DEFAULTS.max_connections,
      max_pending_requests: t?.max_pending_requests ?? BREAKER_DEFAULTS.max_pending_requests,
      max_requests: t?.max_requests ?? BREAKER_DEFAULTS.max_requests,
      max_retries: t?.max_retries ?? BREAKER_DEFAULTS.max_retries,
    },
    ...(c.outlier_detection ? { outlier_detection: effectiveOutlier(c.outlier_detection) } : {}),
    ...(tls ? { tls } : {}),
  };
}
