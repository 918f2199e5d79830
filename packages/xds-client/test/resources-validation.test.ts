import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeResourceJson } from '../src/file/ResourceJson.js';
import { ValidationError } from '../src/resources/ValidationError.js';
import { ListenerResource } from '../src/resources/listener/ListenerResource.js';
import { RouteConfigurationResource } from '../src/resources/route/RouteConfigurationResource.js';
import { ClusterResource } from '../src/resources/cluster/ClusterResource.js';
import { ClusterLoadAssignmentResource } from '../src/resources/endpoint/ClusterLoadAssignmentResource.js';
import { encodeProto3Json } from '../src/proto/ProtoJson.js';
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration } from '../src/resources/model.js';

const T = {
  rc: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  cla: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
};

function rc(route: Record<string, unknown>): Record<string, unknown> {
  return { '@type': T.rc, name: 'rc', virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, ...route }] }] };
}

function rejects(json: Record<string, unknown>): ValidationError {
  try {
    decodeResourceJson(json);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected rejection');
}

describe('RouteConfiguration validation', () => {
  it('weighted clusters: sum > 0; the deprecated total_weight is not checked against the sum (Envoy >= 1.24)', () => {
    const zero = rejects(rc({ route: { weightedClusters: { clusters: [{ name: 'a', weight: 0 }] } } }));
    expect(zero.message).toBe('rc: virtual_hosts[0].routes[0].route.weighted_clusters.clusters: weights sum to 0');
    const mismatch = decodeResourceJson(rc({ route: { weightedClusters: { clusters: [{ name: 'a', weight: 30 }, { name: 'b', weight: 30 }], totalWeight: 100 } } })).resource as RouteConfiguration;
    expect(mismatch.virtual_hosts[0]!.routes[0]!.route!.weighted_clusters).toMatchObject({ clusters: [{ weight: 30 }, { weight: 30 }], total_weight: 100 });
    const ok = decodeResourceJson(rc({ route: { weightedClusters: { clusters: [{ name: 'a', weight: 70 }, { name: 'b', weight: 30 }] } } })).resource as RouteConfiguration;
    expect(ok.virtual_hosts[0]!.routes[0]!.route!.weighted_clusters!.clusters.map((c) => c.weight)).toEqual([70, 30]);
  });

  it('retry_priority previous_priorities: update_frequency must be greater than 0 (PGV)', () => {
    const typed = (extra: Record<string, unknown>) => ({ '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', ...extra });
    const withPriority = (extra: Record<string, unknown>) => rc({ route: { cluster: 'c', retryPolicy: { retryOn: '5xx', retryPriority: { name: 'envoy.retry_priorities.previous_priorities', typedConfig: typed(extra) } } } });
    const ok = decodeResourceJson(withPriority({ updateFrequency: 2 })).resource as RouteConfiguration;
    expect(ok.virtual_hosts[0]!.routes[0]!.route!.retry_policy!.retry_priority).toMatchObject({ name: 'envoy.retry_priorities.previous_priorities', config: { update_frequency: 2 } });
    const zero = rejects(withPriority({}));
    expect(zero.fieldPath).toBe('virtual_hosts[0].routes[0].route.retry_policy.retry_priority.typed_config.update_frequency');
  });

  it('exactly one action and one cluster specifier', () => {
    expect(rejects(rc({})).fieldPath).toBe('virtual_hosts[0].routes[0]');
    expect(rejects(rc({ route: {} })).reason).toMatch(/exactly one of cluster/);
    expect(rejects(rc({ route: { cluster: 'a' }, directResponse: { status: 200 } })).reason).toMatch(/oneof action already set/);
  });

  it('RE2 regexes must compile', () => {
    const e = rejects({ ...rc({ route: { cluster: 'a' } }), virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { safeRegex: { regex: '(' } }, route: { cluster: 'a' } }] }] });
    expect(e.fieldPath).toBe('virtual_hosts[0].routes[0].match.safe_regex.regex');
    // RE2 has no backreferences.
    expect(rejects({ ...rc({}), virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/', headers: [{ name: 'x', safeRegexMatch: { regex: '(a)\\1' } }] }, route: { cluster: 'a' } }] }] }).fieldPath).toBe(
      'virtual_hosts[0].routes[0].match.headers[0].safe_regex_match.regex',
    );
  });

  it('retry policy: retry_on list, backoff rules, defaults left to the consumer', () => {
    const r = decodeResourceJson(rc({ route: { cluster: 'a', retryPolicy: { retryOn: ' 5xx, reset,,connect-failure ', retryBackOff: { baseInterval: '0.025s', maxInterval: '0.250s' } } } }))
      .resource as RouteConfiguration;
    const p = r.virtual_hosts[0]!.routes[0]!.route!.retry_policy!;
    expect(p.retry_on).toEqual(['5xx', 'reset', 'connect-failure']);
    expect(p.num_retries).toBeUndefined();
    expect(p.retry_back_off).toEqual({ base_interval: 25, max_interval: 250 });
    const bad = rejects(rc({ route: { cluster: 'a', retryPolicy: { retryBackOff: { baseInterval: '1s', maxInterval: '0.5s' } } } }));
    expect(bad.fieldPath).toBe('virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.max_interval');
  });

  it('path_separated_prefix: Envoy\'s PGV pattern ^[^?#]+[^?#/]$ (no leading "/" required, no trailing "/")', () => {
    const withPsp = (p: string) => ({ ...rc({}), virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { pathSeparatedPrefix: p }, route: { cluster: 'a' } }] }] });
    for (const ok of ['/api', 'api', 'a/b', '/a/b', 'ab']) {
      const r = decodeResourceJson(withPsp(ok)).resource as RouteConfiguration;
      expect(r.virtual_hosts[0]!.routes[0]!.match.path_separated_prefix).toBe(ok);
    }
    for (const bad of ['/', '/api/', 'a', '/a?b', '/a#b', 'api/']) {
      const e = rejects(withPsp(bad));
      expect(e.fieldPath).toBe('virtual_hosts[0].routes[0].match.path_separated_prefix');
    }
  });

  it('case_sensitive defaults to true; deprecated append maps to append_action', () => {
    const r = decodeResourceJson(rc({ route: { cluster: 'a' }, requestHeadersToAdd: [{ header: { key: 'x', value: '1' }, append: false }] })).resource as RouteConfiguration;
    const route = r.virtual_hosts[0]!.routes[0]!;
    expect(route.match.case_sensitive).toBe(true);
    expect(route.request_headers_to_add[0]!.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
  });

  it('fault and RBAC per-route overrides are decoded, others opaque; models are frozen and comparable', () => {
    const json = rc({
      route: { cluster: 'a' },
      typedPerFilterConfig: {
        'envoy.filters.http.fault': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', abort: { httpStatus: 503, percentage: { numerator: 10 } } },
        'envoy.filters.http.rbac': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' },
        'envoy.filters.http.lua': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute', disabled: true },
      },
    });
    const a = decodeResourceJson(json).resource as RouteConfiguration;
    const tpfc = a.virtual_hosts[0]!.routes[0]!.typed_per_filter_config;
    expect(tpfc['envoy.filters.http.fault']).toEqual({ kind: 'fault', fault: { abort: { http_status: 503, percentage: { numerator: 10, denominator: 'HUNDRED' } }, headers: [] } });
    expect(tpfc['envoy.filters.http.rbac']).toEqual({ kind: 'rbac' });
    expect(tpfc['envoy.filters.http.lua']!.kind).toBe('opaque');
    expect(Object.isFrozen(a.virtual_hosts[0]!.routes[0]!.match)).toBe(true);
    const b = decodeResourceJson(json).resource as RouteConfiguration;
    expect(RouteConfigurationResource.equal(a, b)).toBe(true);
    const c = decodeResourceJson(rc({ route: { cluster: 'other' } })).resource as RouteConfiguration;
    expect(RouteConfigurationResource.equal(a, c)).toBe(false);
  });
});

describe('Cluster validation', () => {
  const base = { '@type': T.cluster, name: 'c', type: 'EDS' };
  it('EDS service name defaults to the cluster name', () => {
    expect((decodeResourceJson(base).resource as Cluster).eds_service_name).toBe('c');
  });
  it('resolves lb_policy with its config, or the first supported typed policy', () => {
    const ring = decodeResourceJson({ ...base, lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: 10 } }).resource as Cluster;
    expect(ring.lb_policy).toEqual({ policy: 'RING_HASH', minimum_ring_size: 10, maximum_ring_size: 8388608, hash_function: 'XX_HASH' });
    const typed = decodeResourceJson({
      ...base,
      loadBalancingPolicy: {
        policies: [
          { typedExtensionConfig: { name: 'x', typedConfig: { '@type': 'type.googleapis.com/xds.type.v3.TypedStruct', typeUrl: 'custom' } } },
          { typedExtensionConfig: { name: 'wrr', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality', endpointPickingPolicy: { policies: [{ typedExtensionConfig: { name: 'lr', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', choiceCount: 3 } } }] } } } },
        ],
      },
    }).resource as Cluster;
    expect(typed.lb_policy).toEqual({ policy: 'LEAST_REQUEST', choice_count: 3 });
    expect(typed.locality_weighted_lb).toBe(true);
    const none = rejects({ ...base, loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: 'x', typedConfig: { '@type': 'type.googleapis.com/xds.type.v3.TypedStruct' } } }] } });
    expect(none.fieldPath).toBe('load_balancing_policy.policies');
    expect(rejects({ ...base, lbPolicy: 'RING_HASH', ringHashLbConfig: { minimumRingSize: 100, maximumRingSize: 10 } }).fieldPath).toBe('ring_hash_lb_config');
  });
  it('aggregate clusters, outlier detection percent limits, HTTP/2 from protocol options', () => {
    const agg = decodeResourceJson({ '@type': T.cluster, name: 'agg', clusterType: { name: 'envoy.clusters.aggregate', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig', clusters: ['p', 's'] } } }).resource as Cluster;
    expect(agg).toMatchObject({ type: 'AGGREGATE', aggregate_clusters: ['p', 's'] });
    expect(rejects({ ...base, outlierDetection: { maxEjectionPercent: 101 } }).fieldPath).toBe('outlier_detection.max_ejection_percent');
    // Envoy: "max_ejection_time cannot be smaller than base_ejection_time" (base defaults to 30 s).
    expect(rejects({ ...base, outlierDetection: { maxEjectionTime: '10s' } }).fieldPath).toBe('outlier_detection.max_ejection_time');
    expect(rejects({ ...base, outlierDetection: { baseEjectionTime: '60s', maxEjectionTime: '59s' } }).message).toMatch(/must not be smaller than base_ejection_time \(60000 ms\)/);
    expect((decodeResourceJson({ ...base, outlierDetection: { baseEjectionTime: '5s', maxEjectionTime: '5s' } }).resource as Cluster).outlier_detection).toMatchObject({ base_ejection_time: 5000, max_ejection_time: 5000 });
    expect((decodeResourceJson({ ...base, outlierDetection: { baseEjectionTime: '400s' } }).resource as Cluster).outlier_detection).toMatchObject({ base_ejection_time: 400000 });
    // always_eject_one_host (BoolValue, Envoy 1.31+): decoded when set, absent otherwise (core applies its default, false).
    expect((decodeResourceJson({ ...base, outlierDetection: { alwaysEjectOneHost: true } }).resource as Cluster).outlier_detection).toEqual({ always_eject_one_host: true });
    expect((decodeResourceJson({ ...base, outlierDetection: { alwaysEjectOneHost: false } }).resource as Cluster).outlier_detection).toEqual({ always_eject_one_host: false });
    expect((decodeResourceJson({ ...base, outlierDetection: {} }).resource as Cluster).outlier_detection).toEqual({});
    const h2 = decodeResourceJson({
      ...base,
      typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 50 } } } },
    }).resource as Cluster;
    expect(h2).toMatchObject({ protocol: 'HTTP2', max_concurrent_streams: 50 });
    expect(h2).not.toHaveProperty('idle_timeout');
    expect(h2).not.toHaveProperty('max_requests_per_connection');
    // common_http_protocol_options, as istiod writes DestinationRule connectionPool.http idleTimeout / maxRequestsPerConnection.
    const hpo = (extra: Record<string, unknown>) => ({
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicitHttpConfig: { httpProtocolOptions: {} }, ...extra },
    });
    const pooled = decodeResourceJson({ ...base, typedExtensionProtocolOptions: hpo({ commonHttpProtocolOptions: { idleTimeout: '2.5s', maxRequestsPerConnection: 1 } }) }).resource as Cluster;
    expect(pooled).toMatchObject({ protocol: 'HTTP1', idle_timeout: 2500, max_requests_per_connection: 1 });
    // The deprecated Cluster fields, overridden field by field by the extension.
    const legacy = decodeResourceJson({ ...base, maxRequestsPerConnection: 3, commonHttpProtocolOptions: { idleTimeout: '1s' } }).resource as Cluster;
    expect(legacy).toMatchObject({ idle_timeout: 1000, max_requests_per_connection: 3 });
    const both = decodeResourceJson({ ...base, maxRequestsPerConnection: 3, commonHttpProtocolOptions: { idleTimeout: '1s' }, typedExtensionProtocolOptions: hpo({ commonHttpProtocolOptions: { maxRequestsPerConnection: 7 } }) }).resource as Cluster;
    expect(both).toMatchObject({ idle_timeout: 1000, max_requests_per_connection: 7 });
    // 0 is "no limit".
    expect(decodeResourceJson({ ...base, maxRequestsPerConnection: 0 }).resource as Cluster).not.toHaveProperty('max_requests_per_connection');
    expect(rejects({ ...base, commonHttpProtocolOptions: { idleTimeout: '-1s' } }).fieldPath).toBe('common_http_protocol_options.idle_timeout');
  });
  it('UpstreamTlsContext with certificate provider instances (gRPC/Istio form)', () => {
    const c = decodeResourceJson({
      ...base,
      transportSocket: {
        name: 'envoy.transport_sockets.tls',
        typedConfig: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          sni: 'outbound_.80_._.svc',
          commonTlsContext: {
            tlsCertificateProviderInstance: { instanceName: 'default' },
            combinedValidationContext: {
              defaultValidationContext: { matchSubjectAltNames: [{ exact: 'spiffe://cluster.local/ns/default/sa/b' }], caCertificateProviderInstance: { instanceName: 'default', certificateName: 'ROOTCA' } },
            },
          },
        },
      },
    }).resource as Cluster;
    const tls = c.transport_socket!.upstream_tls!;
    expect(tls.sni).toBe('outbound_.80_._.svc');
    expect(tls.common_tls_context.tls_certificate_provider_instance).toEqual({ instance_name: 'default' });
    expect(tls.common_tls_context.validation_context?.ca_certificate_provider_instance).toEqual({ instance_name: 'default', certificate_name: 'ROOTCA' });
    expect(tls.common_tls_context.validation_context?.match_subject_alt_names).toEqual([{ exact: 'spiffe://cluster.local/ns/default/sa/b' }]);
  });
});

describe('ClusterLoadAssignment validation', () => {
  it('defaults, weights and contiguous priorities', () => {
    const cla = decodeResourceJson({
      '@type': T.cla,
      clusterName: 'c',
      endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 80 } } } }] }],
    }).resource as ClusterLoadAssignment;
    expect(cla.endpoints[0]!.lb_endpoints[0]).toEqual({ address: { address: '10.0.0.1', port_value: 80 }, additional_addresses: [], health_status: 'UNKNOWN', load_balancing_weight: 1 });
    expect(cla.endpoints[0]!.priority).toBe(0);
    const gap = rejects({ '@type': T.cla, clusterName: 'c', endpoints: [{ priority: 1, lbEndpoints: [] }] });
    expect(gap.reason).toMatch(/priorities are not contiguous/);
  });
});

describe('Listener validation', () => {
  it('api_listener HCM: rds over ADS, filters decoded, missing route spec rejected', () => {
    const hcm = (extra: Record<string, unknown>) => ({
      '@type': T.listener,
      name: 'svc:80',
      apiListener: { apiListener: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', httpFilters: [{ name: 'router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }], ...extra } },
    });
    const l = decodeResourceJson(hcm({ rds: { routeConfigName: 'r', configSource: { ads: {} } } })).resource as Listener;
    expect(l.api_listener).toEqual({ rds: { route_config_name: 'r', config_source_ads: true }, http_filters: [{ name: 'router', is_optional: false, config: { kind: 'router' } }] });
    expect(rejects(hcm({})).fieldPath).toBe('api_listener.api_listener');
  });
});

describe('property: decoders throw only ValidationError', () => {
  const types = [ListenerResource, RouteConfigurationResource, ClusterResource, ClusterLoadAssignmentResource] as const;
  it('arbitrary bytes into decode', () => {
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 200 }), (t, bytes) => {
        try {
          t.decode({ type_url: t.typeUrl, value: bytes });
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
  it('arbitrary JSON into fromObject', () => {
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.dictionary(fc.constantFrom('name', 'cluster_name', 'virtual_hosts', 'endpoints', 'filter_chains', 'api_listener', 'lb_policy', 'load_balancing_policy', 'type', 'connect_timeout', 'outlier_detection', 'policy', 'address'), fc.jsonValue()), (t, obj) => {
        try {
          t.fromObject(obj);
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
  it('mutated valid resources round-trip through bytes or are rejected cleanly', () => {
    const { '@type': _t, ...body } = rc({ route: { cluster: 'a', retryPolicy: { retryOn: '5xx' } } });
    const valid = encodeProto3Json(T.rc, body);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const copy = Uint8Array.from(valid);
        copy[i] = b;
        try {
          RouteConfigurationResource.decode({ type_url: T.rc, value: copy });
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});
