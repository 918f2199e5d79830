import { describe, expect, it } from 'vitest';
import { allFixtureResources, type ExtractedResource } from './helpers/fixture-extract.js';
import { decodeResourceJson } from '../src/file/ResourceJson.js';
import { encodeProto3Json } from '../src/proto/ProtoJson.js';
import { ValidationError } from '../src/resources/ValidationError.js';
import { resourceTypeFor } from '../src/resources/KnownResourceTypes.js';
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration } from '../src/resources/model.js';

const all = allFixtureResources();
const key = (r: ExtractedResource) => `${r.file} ${r.location}`;

/** Every resource Meshlet rejects, with the exact field path and reason. */
const REJECTED: Record<string, { fieldPath: string; reason: string }> = {
  // Istio's bootstrap clusters reach istio-agent over unix sockets; an in-process client cannot use pipes.
  'istio-sidecar-eds-endpoints-dump.json configs[0].static_endpoint_configs[1].endpoint_config': {
    fieldPath: 'endpoints[0].lb_endpoints[0].endpoint.address',
    reason: 'only socket_address is supported (got pipe)',
  },
  'istio-sidecar-eds-endpoints-dump.json configs[0].static_endpoint_configs[3].endpoint_config': {
    fieldPath: 'endpoints[0].lb_endpoints[0].endpoint.address',
    reason: 'only socket_address is supported (got pipe)',
  },
  // Waypoint internal listeners are addressed by envoy_internal_address (HBONE), not a socket.
  'istio-waypoint-full-config-dump.json configs[2].dynamic_endpoint_configs[0].endpoint_config': {
    fieldPath: 'endpoints[0].lb_endpoints[0].endpoint.address',
    reason: 'only socket_address is supported (got envoy_internal_address)',
  },
  // Static (bootstrap) listeners and inline route configs may be unnamed in Envoy; xDS resources may not.
  'istio-sidecar-listeners-rbac-dump.json configs[0].static_listeners[0].listener': { fieldPath: 'name', reason: 'resource name is required' },
  'istio-sidecar-listeners-rbac-dump.json configs[0].static_listeners[1].listener': { fieldPath: 'name', reason: 'resource name is required' },
  'istio-waypoint-full-config-dump.json configs[3].static_listeners[0].listener': { fieldPath: 'name', reason: 'resource name is required' },
  'osm-bookstore-sidecar-config-dump.json configs[5].static_route_configs[3].route_config': { fieldPath: 'name', reason: 'resource name is required' },
  'osm-bookstore-sidecar-config-dump.json configs[2].dynamic_endpoint_configs[1].endpoint_config': { fieldPath: 'cluster_name', reason: 'resource name is required' },
};

function decodeOk<T>(r: ExtractedResource): T {
  return decodeResourceJson({ '@type': r.typeUrl, ...r.json }).resource as T;
}

function find(file: string, typeUrlSuffix: string, name: string): ExtractedResource {
  const r = all.find((x) => x.file === file && x.typeUrl.endsWith(typeUrlSuffix) && x.name === name);
  if (!r) throw new Error(`fixture resource ${file} ${name} not found`);
  return r;
}

describe('real control-plane config (fixtures/xds-real)', () => {
  it('extracts resources of all four types from every fixture file', () => {
    const files = new Set(all.map((r) => r.file));
    expect(files.size).toBe(10);
    for (const t of ['Listener', 'RouteConfiguration', 'Cluster', 'ClusterLoadAssignment']) {
      expect(all.filter((r) => r.typeUrl.endsWith(`.${t}`)).length).toBeGreaterThan(3);
    }
    expect(all.length).toBe(119);
  });

  it.each(all.map((r) => [key(r), r] as const))('%s', (_k, r) => {
    const expected = REJECTED[key(r)];
    const json = { '@type': r.typeUrl, ...r.json };
    if (expected) {
      let err: unknown;
      try {
        decodeResourceJson(json);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).fieldPath).toBe(expected.fieldPath);
      expect((err as ValidationError).reason).toBe(expected.reason);
      return;
    }
    const decoded = decodeResourceJson(json);
    expect(decoded.name).toBe(r.name);
    expect(Object.isFrozen(decoded.resource)).toBe(true);
    // The binary path (what ADS delivers) yields the same model as the JSON path.
    const type = resourceTypeFor(r.typeUrl)!;
    const bytes = encodeProto3Json(r.typeUrl, r.json);
    const viaBytes = type.decode({ type_url: r.typeUrl, value: bytes });
    expect(type.equal(viaBytes.resource, decoded.resource)).toBe(true);
  });

  it('every expected rejection exists in the fixtures', () => {
    const keys = new Set(all.map(key));
    for (const k of Object.keys(REJECTED)) expect(keys.has(k), k).toBe(true);
  });

  it('OSM: 50/50 weighted clusters with the deprecated total_weight, RBAC per-route override', () => {
    const rcs = all.filter((r) => r.file.startsWith('osm') && r.typeUrl.endsWith('RouteConfiguration') && !REJECTED[key(r)]).map((r) => decodeOk<RouteConfiguration>(r));
    const routes = rcs.flatMap((rc) => rc.virtual_hosts.flatMap((vh) => vh.routes));
    const split = routes.find((rt) => rt.route?.weighted_clusters?.clusters.length === 2)!;
    expect(split.route!.weighted_clusters).toMatchObject({
      total_weight: 100,
      clusters: [
        { name: 'bookstore/bookstore-v1', weight: 50 },
        { name: 'bookstore/bookstore-v2', weight: 50 },
      ],
    });
    const rbacOverride = routes.flatMap((rt) => Object.values(rt.typed_per_filter_config)).find((o) => o.kind === 'rbac');
    expect(rbacOverride?.kind).toBe('rbac');
    const regexRoute = routes.find((rt) => rt.match.safe_regex !== undefined);
    expect(regexRoute?.match.safe_regex?.regex).toBeTypeOf('string');
  });

  it('Istio: VirtualService retry policy and route fields', () => {
    const rc = decodeOk<RouteConfiguration>(find('istio-sidecar-bookinfo-routes-clusters-dump.json', 'RouteConfiguration', 'http.8080'));
    const route = rc.virtual_hosts[0]!.routes[0]!;
    expect(route.route!.timeout).toBe(0);
    expect(route.route!.max_grpc_timeout).toBe(0);
    expect(route.route!.retry_policy).toMatchObject({
      retry_on: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
      num_retries: 2,
      host_selection_retry_max_attempts: 5,
      retriable_status_codes: [503],
      retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
    });
    expect(route.metadata?.['istio']?.['config']).toContain('virtual-service/bookinfo');
    expect(route.decorator?.operation).toBeTypeOf('string');
  });

  it('Istio: sidecar cluster TLS transport_socket_matches (SDS, combined validation context, SANs, SNI)', () => {
    const r = all.find((x) => x.file === 'istio-sidecar-bookinfo-routes-clusters-dump.json' && x.typeUrl.endsWith('Cluster'))!;
    const c = decodeOk<Cluster>(r);
    expect(c.type).toBe('EDS');
    expect(c.lb_policy.policy).toBe('LEAST_REQUEST');
    const tls = c.transport_socket_matches.find((m) => m.name === 'tlsMode-istio')!;
    expect(tls.match).toEqual({ tlsMode: 'istio' });
    const up = tls.transport_socket.upstream_tls!;
    expect(up.sni).toMatch(/productpage|reviews|ratings|details/);
    expect(up.common_tls_context.alpn_protocols).toEqual(['istio-peer-exchange', 'istio']);
    expect(up.common_tls_context.tls_certificate_sds_secret_configs[0]!.name).toBe('default');
    expect(up.common_tls_context.validation_context_sds_secret_config?.name).toBe('ROOTCA');
    expect(up.common_tls_context.validation_context?.match_subject_alt_names[0]?.exact).toMatch(/^spiffe:\/\//);
    expect(c.transport_socket_matches.at(-1)!.transport_socket.raw_buffer).toBe(true);
    expect(c.circuit_breakers?.thresholds[0]?.max_connections).toBe(4294967295);
  });

  it('Envoy Gateway: outlier detection, circuit breakers, typed LB policy, HTTP/2, typed SANs', () => {
    const cs = all.filter((r) => r.file === 'envoy-gateway-traffic-settings-outlier-cb.clusters.yaml').map((r) => decodeOk<Cluster>(r));
    const od = cs.find((c) => c.outlier_detection)!;
    expect(od.outlier_detection).toEqual({
      base_ejection_time: 30000,
      consecutive_5xx: 5,
      consecutive_gateway_failure: 4,
      consecutive_local_origin_failure: 5,
      enforcing_consecutive_gateway_failure: 100,
      interval: 5000,
      max_ejection_percent: 10,
    });
    expect(cs.some((c) => c.lb_policy.policy === 'LEAST_REQUEST')).toBe(true);
    expect(cs.some((c) => c.protocol === 'HTTP2')).toBe(true);
    const typed = cs.flatMap((c) => c.transport_socket_matches).map((m) => m.transport_socket.upstream_tls?.common_tls_context.validation_context?.match_typed_subject_alt_names);
    expect(typed.some((t) => t && t.length > 0)).toBe(true);
  });

  it('Envoy Gateway: retry backoff 0.200s, retry priority, weighted 8/2 split', () => {
    const rc = decodeOk<RouteConfiguration>(all.find((r) => r.file === 'envoy-gateway-retry.routes.yaml')!);
    expect(rc.ignore_port_in_host_matching).toBe(true);
    const rp = rc.virtual_hosts[0]!.routes[0]!.route!.retry_policy!;
    expect(rp.retry_back_off?.base_interval).toBe(200);
    expect(rp.num_retries).toBe(3);
    expect(rp.host_selection_retry_max_attempts).toBe(5);
    const priorities = rc.virtual_hosts.flatMap((vh) => vh.routes).map((r) => r.route?.retry_policy?.retry_priority).filter(Boolean);
    expect(priorities[0]?.config).toBeDefined();
    const w = decodeOk<RouteConfiguration>(all.find((r) => r.file === 'envoy-gateway-weighted-backend-with-filters.routes.yaml')!);
    const weights = w.virtual_hosts.flatMap((vh) => vh.routes).map((r) => r.route?.weighted_clusters?.clusters.map((c) => c.weight));
    expect(weights).toContainEqual([8, 2]);
  });

  it('Istio EDS: health_status, weights, empty locality, overprovisioning_factor 140', () => {
    const clas = all
      .filter((r) => r.file === 'istio-sidecar-eds-endpoints-dump.json' && !REJECTED[key(r)])
      .map((r) => decodeOk<ClusterLoadAssignment>(r));
    const withEndpoints = clas.filter((c) => c.endpoints.length > 0);
    expect(withEndpoints.length).toBeGreaterThan(10);
    expect(withEndpoints.every((c) => c.policy.overprovisioning_factor === 140)).toBe(true);
    const eps = withEndpoints.flatMap((c) => c.endpoints.flatMap((l) => l.lb_endpoints));
    expect(eps.some((e) => e.health_status === 'HEALTHY')).toBe(true);
    expect(eps.some((e) => e.metadata?.['envoy.transport_socket_match']?.['tlsMode'] === 'istio')).toBe(true);
    expect(withEndpoints.some((c) => c.endpoints.some((l) => l.locality.region === '' && l.locality.zone === ''))).toBe(true);
    expect(withEndpoints.some((c) => c.endpoints.some((l) => l.load_balancing_weight !== undefined))).toBe(true);
  });

  it('Traffic Director CSDS (lowerCamelCase, legacy xdsConfig): api_listener, retry, cluster, CLA', () => {
    const td = all.filter((r) => r.file === 'grpc-java-trafficdirector-csds-dump.json');
    const l = decodeOk<Listener>(td.find((r) => r.typeUrl.endsWith('Listener'))!);
    expect(l.api_listener?.rds?.config_source_ads).toBe(true);
    expect(l.api_listener?.http_filters.map((f) => f.config.kind)).toEqual(['fault', 'router']);
    const rc = decodeOk<RouteConfiguration>(td.find((r) => r.typeUrl.endsWith('RouteConfiguration'))!);
    const route = rc.virtual_hosts[0]!.routes.find((r) => r.route?.retry_policy)!;
    expect(route.route!.retry_policy).toMatchObject({ retry_on: ['gateway-error'], num_retries: 1, per_try_timeout: 30000 });
    expect(rc.virtual_hosts[0]!.routes.some((r) => r.match.prefix === '')).toBe(true);
    const c = decodeOk<Cluster>(td.find((r) => r.typeUrl.endsWith('Cluster'))!);
    expect(c).toMatchObject({ type: 'EDS', lrs_server: true, locality_weighted_lb: true, protocol: 'HTTP2' });
    expect(c.healthy_panic_threshold).toBeTypeOf('number');
    const cla = decodeOk<ClusterLoadAssignment>(td.find((r) => r.typeUrl.endsWith('ClusterLoadAssignment'))!);
    expect(cla.endpoints[0]!.locality.sub_zone).not.toBe('');
    expect(cla.endpoints[0]!.load_balancing_weight).toBeGreaterThan(0);
  });

  it('Envoy example: filters given as one object are accepted as a list of one (as Envoy does)', () => {
    const l = decodeOk<Listener>(all.find((r) => r.file === 'envoy-examples-dynamic-config-fs-lds.yaml')!);
    expect(l.filter_chains[0]!.filters).toHaveLength(1);
    const hcm = l.filter_chains[0]!.http_connection_manager!;
    expect(hcm.route_config?.virtual_hosts[0]?.routes[0]?.route?.cluster).toBe('example_proxy_cluster');
    expect(hcm.http_filters[0]!.config.kind).toBe('router');
  });

  it('Istio listeners: HTTP RBAC decoded, Istio-private and TypedStruct filters kept opaque', () => {
    const ls = all.filter((r) => r.file === 'istio-sidecar-listeners-rbac-dump.json' && !REJECTED[key(r)]).map((r) => decodeOk<Listener>(r));
    const filters = ls.flatMap((l) => l.filter_chains.flatMap((fc) => fc.http_connection_manager?.http_filters ?? []));
    expect(filters.some((f) => f.config.kind === 'rbac' && f.config.rbac.rules !== undefined)).toBe(true);
    const opaques = filters.flatMap((f) => (f.config.kind === 'opaque' ? [f.config.opaque] : []));
    expect(opaques.some((o) => o.type_url.endsWith('istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig'))).toBe(true);
    expect(opaques.some((o) => o.inner_type_url !== undefined)).toBe(true);
    const matched = ls.flatMap((l) => l.filter_chains).filter((fc) => fc.filter_chain_match);
    expect(matched.length).toBeGreaterThan(10);
    const dtls = ls.flatMap((l) => l.filter_chains).find((fc) => fc.transport_socket?.downstream_tls);
    expect(dtls?.transport_socket?.downstream_tls?.common_tls_context.alpn_protocols.length).toBeGreaterThan(0);
  });
});
