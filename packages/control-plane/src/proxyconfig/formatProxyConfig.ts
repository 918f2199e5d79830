import type { ClusterView, ProxyConfigView, RetryView, RouteActionView, RouteView } from './ProxyConfigView.js';
import { formatMs } from './routeDescriptions.js';
import { textTable } from './TextTable.js';

function action(a: RouteActionView): string {
  switch (a.kind) {
    case 'cluster':
      return a.cluster;
    case 'weighted_clusters':
      return a.clusters.map((c) => `${c.name} ${c.percent}% (weight ${c.weight})`).join(', ');
    case 'cluster_header':
      return `cluster from header ${a.header}`;
    case 'redirect':
      return `redirect ${a.to}`;
    case 'direct_response':
      return `direct response ${a.status}`;
    case 'non_forwarding':
      return 'non-forwarding';
    case 'unsupported':
      return `unsupported (${a.detail})`;
  }
}

function retry(r: RetryView): string {
  const extras = [
    r.per_try_timeout_ms !== undefined ? `per try ${formatMs(r.per_try_timeout_ms)}` : undefined,
    r.retriable_status_codes ? `status ${r.retriable_status_codes.join(',')}` : undefined,
    r.host_predicates ? `hosts ${r.host_predicates.join(',')}` : undefined,
    r.inherited_from_virtual_host ? 'from virtual host' : undefined,
  ].filter((x) => x !== undefined);
  return `${r.num_retries} on ${r.retry_on.join(',')}${extras.length > 0 ? ` (${extras.join('; ')})` : ''}`;
}

function routeLines(r: RouteView): string[] {
  const lines = [`    route ${r.name !== undefined ? `"${r.name}"` : '(unnamed)'}  match: ${r.match}`];
  const detail = r.action.kind === 'weighted_clusters' ? '      -> weighted: ' : '      -> ';
  lines.push(`${detail}${action(r.action)}`);
  const policy: string[] = [];
  if (r.timeout_ms !== undefined) policy.push(`timeout ${r.timeout_ms === 0 ? 'none' : formatMs(r.timeout_ms)}${r.timeout_is_default ? ' (Envoy default)' : ''}`);
  policy.push(r.retry ? `retries ${retry(r.retry)}` : r.action.kind === 'cluster' || r.action.kind === 'weighted_clusters' ? 'retries none' : '');
  if (r.fault) policy.push(`fault ${r.fault}`);
  if (r.rewrite) policy.push(`rewrite ${r.rewrite}`);
  if (r.priority) policy.push(`priority ${r.priority}`);
  const p = policy.filter((x) => x !== '');
  if (p.length > 0) lines.push(`      ${p.join('  ')}`);
  return lines;
}

/** istiod writes 2^32-1 for "no limit" (its default DestinationRule): say so instead of the number. */
const limit = (n: number) => (n >= 4294967295 ? 'max' : String(n));

function breakers(c: ClusterView): string {
  const b = c.circuit_breakers;
  return b ? `conn=${limit(b.max_connections)} pending=${limit(b.max_pending_requests)} req=${limit(b.max_requests)} retries=${limit(b.max_retries)}` : '-';
}

function outlier(c: ClusterView): string {
  const o = c.outlier_detection;
  if (!o) return '-';
  return `5xx=${o.consecutive_5xx} gw=${o.consecutive_gateway_failure} interval=${formatMs(o.interval_ms)} base=${formatMs(o.base_ejection_time_ms)} max=${formatMs(o.max_ejection_time_ms)} max%=${o.max_ejection_percent}${o.always_eject_one_host ? ' always_eject_one_host' : ''}`;
}

/** The text `meshlet proxy-config` prints: four sections, like istioctl's listener/route/cluster/endpoint views. */
export function formatProxyConfig(v: ProxyConfigView): string {
  const out: string[] = [];
  out.push(`Target ${v.target}  (${v.source})`, '');
  out.push('LISTENER');
  out.push(`  ${v.listener.name}`);
  out.push(`    route config: ${v.listener.route_config_name} (${v.listener.rds ? 'RDS' : 'inline'})`);
  out.push(`    http filters: ${v.listener.http_filters.join(', ') || '(none)'}`);
  if (v.listener.max_stream_duration_ms !== undefined) out.push(`    max stream duration: ${formatMs(v.listener.max_stream_duration_ms)}`);
  out.push('');
  out.push(`ROUTES ${v.route_config.name}`);
  for (const vh of v.route_config.virtual_hosts) {
    out.push(`  virtual host ${vh.name}  domains: ${vh.domains.join(', ')}`);
    for (const r of vh.routes) out.push(...routeLines(r));
  }
  out.push('');
  out.push('CLUSTERS');
  out.push(
    textTable(
      ['NAME', 'TYPE', 'LB', 'CONNECT TIMEOUT', 'CIRCUIT BREAKERS', 'OUTLIER DETECTION', 'TLS'],
      v.clusters.map((c) =>
        c.found
          ? [c.name, c.type ?? '-', c.lb_policy ?? '-', c.connect_timeout_ms !== undefined ? formatMs(c.connect_timeout_ms) : '-', breakers(c), outlier(c), c.tls ?? 'plaintext']
          : [c.name, 'NOT FOUND', '-', '-', '-', '-', '-'],
      ),
    ),
  );
  out.push('');
  out.push('ENDPOINTS');
  out.push(
    v.endpoints.length === 0
      ? '  (none)'
      : textTable(
          ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'WEIGHT', 'LOCALITY', 'PRIORITY', 'CLUSTER'],
          v.endpoints.map((e) => [e.address, e.health, e.ejected ? 'EJECTED' : 'OK', String(e.weight), e.locality === '//' ? '-' : e.locality, String(e.priority), e.cluster]),
        ),
  );
  return `${out.join('\n')}\n`;
}
