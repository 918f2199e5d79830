import type { HeaderMatcher, RetryPolicy, Route, RouteAction, RouteMatch, StringMatcher, VirtualHost } from '@meshlet/xds-client';
import type { RetryView, RouteActionView } from './ProxyConfigView.js';

/** Envoy's route timeout when the route sets none (RouteAction.timeout). */
export const ENVOY_DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

function stringMatch(m: StringMatcher): string {
  const ci = m.ignore_case ? ' (ignore case)' : '';
  if (m.exact !== undefined) return `=${m.exact}${ci}`;
  if (m.prefix !== undefined) return ` prefix=${m.prefix}${ci}`;
  if (m.suffix !== undefined) return ` suffix=${m.suffix}${ci}`;
  if (m.contains !== undefined) return ` contains=${m.contains}${ci}`;
  if (m.safe_regex !== undefined) return ` regex=${m.safe_regex.regex}`;
  return ' (any)';
}

/** `end-user=jason`, `x-canary present`, `!x-debug present`, `version regex=v[12]`... */
export function describeHeaderMatcher(h: HeaderMatcher): string {
  let op: string;
  if (h.exact_match !== undefined) op = `=${h.exact_match}`;
  else if (h.safe_regex_match !== undefined) op = ` regex=${h.safe_regex_match.regex}`;
  else if (h.prefix_match !== undefined) op = ` prefix=${h.prefix_match}`;
  else if (h.suffix_match !== undefined) op = ` suffix=${h.suffix_match}`;
  else if (h.contains_match !== undefined) op = ` contains=${h.contains_match}`;
  else if (h.range_match !== undefined) op = ` in [${h.range_match.start},${h.range_match.end})`;
  else if (h.string_match !== undefined) op = stringMatch(h.string_match);
  else op = h.present_match === false ? ' absent' : ' present';
  return `${h.invert_match ? '!' : ''}${h.name}${op}`;
}

/** The match as one line: path specifier first, then headers, query parameters and flags. */
export function describeMatch(m: RouteMatch): string {
  const parts: string[] = [];
  if (m.prefix !== undefined) parts.push(`prefix=${m.prefix === '' ? '/' : m.prefix}`);
  else if (m.path !== undefined) parts.push(`path=${m.path}`);
  else if (m.safe_regex !== undefined) parts.push(`regex=${m.safe_regex.regex}`);
  else if (m.path_separated_prefix !== undefined) parts.push(`path_separated_prefix=${m.path_separated_prefix}`);
  else if (m.connect_matcher) parts.push('CONNECT');
  if (!m.case_sensitive) parts.push('(case-insensitive)');
  for (const h of m.headers) parts.push(`header ${describeHeaderMatcher(h)}`);
  for (const q of m.query_parameters) parts.push(`query ${q.name}${q.string_match ? stringMatch(q.string_match) : ' present'}`);
  if (m.grpc) parts.push('grpc');
  if (m.runtime_fraction) parts.push(`fraction=${percentOf(m.runtime_fraction.default_value)}%`);
  return parts.join(' ');
}

function percentOf(f: { numerator: number; denominator: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION' }): number {
  const scale = f.denominator === 'HUNDRED' ? 100 : f.denominator === 'TEN_THOUSAND' ? 10_000 : 1_000_000;
  return Math.round((f.numerator / scale) * 100 * 100) / 100;
}

export function describeAction(route: Route): RouteActionView {
  const a = route.route;
  if (a) {
    if (a.cluster !== undefined) return { kind: 'cluster', cluster: a.cluster };
    if (a.weighted_clusters) {
      // The sum of the weights is the total (total_weight is deprecated and not read, as in Envoy since 1.24).
      const total = a.weighted_clusters.clusters.reduce((s, c) => s + c.weight, 0);
      return {
        kind: 'weighted_clusters',
        clusters: a.weighted_clusters.clusters.map((c) => ({ name: c.name, weight: c.weight, percent: total > 0 ? Math.round((c.weight / total) * 10_000) / 100 : 0 })),
      };
    }
    if (a.cluster_header !== undefined) return { kind: 'cluster_header', header: a.cluster_header };
    return { kind: 'unsupported', detail: a.cluster_specifier_plugin !== undefined ? `cluster_specifier_plugin ${a.cluster_specifier_plugin}` : 'no cluster specifier' };
  }
  if (route.redirect) {
    const r = route.redirect;
    const to = [r.https_redirect ? 'https://' : r.scheme_redirect ? `${r.scheme_redirect}://` : '', r.host_redirect ?? '', r.port_redirect ? `:${r.port_redirect}` : '', r.path_redirect ?? r.prefix_rewrite ?? ''].join('');
    return { kind: 'redirect', to: `${to || '(same)'} ${r.response_code}` };
  }
  if (route.direct_response) return { kind: 'direct_response', status: route.direct_response.status };
  return { kind: 'non_forwarding' };
}

export function describeRewrite(a: RouteAction | undefined): string | undefined {
  if (!a) return undefined;
  const parts: string[] = [];
  if (a.prefix_rewrite !== undefined) parts.push(`prefix -> ${a.prefix_rewrite}`);
  if (a.regex_rewrite) parts.push(`regex ${a.regex_rewrite.pattern.regex} -> ${a.regex_rewrite.substitution}`);
  if (a.host_rewrite_literal !== undefined) parts.push(`host -> ${a.host_rewrite_literal}`);
  if (a.host_rewrite_header !== undefined) parts.push(`host from header ${a.host_rewrite_header}`);
  if (a.auto_host_rewrite) parts.push('auto host rewrite');
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** The route's retry policy, else its virtual host's (Envoy: the route's wins when both are set). */
export function effectiveRetry(route: Route, vh: VirtualHost): RetryView | undefined {
  const own = route.route?.retry_policy;
  const policy: RetryPolicy | undefined = own ?? vh.retry_policy;
  if (!policy || policy.retry_on.length === 0) return undefined;
  const predicates = policy.retry_host_predicate.map((p) => p.name.replace(/^envoy\.retry_host_predicates\./, ''));
  return {
    retry_on: policy.retry_on,
    num_retries: policy.num_retries ?? 1,
    ...(policy.per_try_timeout !== undefined ? { per_try_timeout_ms: policy.per_try_timeout } : {}),
    ...(policy.retriable_status_codes.length > 0 ? { retriable_status_codes: policy.retriable_status_codes } : {}),
    ...(predicates.length > 0 ? { host_predicates: predicates } : {}),
    ...(own ? {} : { inherited_from_virtual_host: true }),
  };
}

/** A route's fault override (typed_per_filter_config), e.g. `delay 5s 10%, abort 503 50%`. */
export function describeRouteFault(route: Route): string | undefined {
  for (const override of Object.values(route.typed_per_filter_config)) {
    if (override.kind !== 'fault') continue;
    const f = override.fault;
    const parts: string[] = [];
    if (f.delay) parts.push(`delay ${f.delay.header_delay ? '(from header)' : formatMs(f.delay.fixed_delay ?? 0)} ${percentOf(f.delay.percentage)}%`);
    if (f.abort) parts.push(`abort ${f.abort.header_abort ? '(from header)' : f.abort.grpc_status !== undefined ? `grpc-status ${f.abort.grpc_status}` : (f.abort.http_status ?? '?')} ${percentOf(f.abort.percentage)}%`);
    return parts.join(', ') || 'fault filter (no delay or abort)';
  }
  return undefined;
}

/** `10s`, `1.5s`, `250ms`, `0` (disabled). */
export function formatMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms > 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}
