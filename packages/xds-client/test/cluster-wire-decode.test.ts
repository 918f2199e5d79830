import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeAny } from '../src/proto/EnvoyProtos.js';
import { ClusterResource } from '../src/resources/cluster/ClusterResource.js';
import { decodeClusterWire } from '../src/resources/cluster/ClusterWire.js';
import { wireAgreement } from './helpers/wireAgreement.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';

const { general, expectAgreement, expectRejected, checkProperty } = wireAgreement(ClusterResource, decodeClusterWire);

const eds = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'EDS',
  eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
  connect_timeout: { seconds: 1 },
  lb_policy: 'ROUND_ROBIN',
  ...extra,
});

describe('Cluster one-pass wire decode', () => {
  it('decodes the common EDS shape (as the config-scale push sends it) to the same model as the general path', () => {
    const any = encodeAny(CLUSTER, eds('outbound|80||svc1.bench.svc.cluster.local'));
    expect(expectAgreement(any)).toBe('fast');
    expect(decodeClusterWire(any.value)).toStrictEqual({
      name: 'outbound|80||svc1.bench.svc.cluster.local',
      type: 'EDS',
      eds_service_name: 'outbound|80||svc1.bench.svc.cluster.local',
      connect_timeout: 1000,
      lb_policy: { policy: 'ROUND_ROBIN' },
      transport_socket_matches: [],
      protocol: 'HTTP1',
    });
  });

  it('takes RANDOM, nanos, a missing service_name (the cluster name is used) and no connect_timeout', () => {
    const any = encodeAny(CLUSTER, { name: 'c-ü', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 2, nanos: 500_000 }, lb_policy: 'RANDOM' });
    expect(expectAgreement(any)).toBe('fast');
    expect(decodeClusterWire(any.value)).toMatchObject({ eds_service_name: 'c-ü', connect_timeout: 2000.5, lb_policy: { policy: 'RANDOM' } });
    expect(expectAgreement(encodeAny(CLUSTER, { name: 'c', type: 'EDS' }))).toBe('fast');
  });

  it('leaves everything outside the common shape to the general path (same model)', () => {
    const outside = [
      eds('c', { lb_policy: 'LEAST_REQUEST' }),
      eds('c', { outlier_detection: { consecutive_5xx: { value: 3 }, successful_active_health_check_uneject_host: { value: true } } }),
      eds('c', { outlier_detection: { always_eject_one_host: { value: true } } }),
      eds('c', { circuit_breakers: { thresholds: [{ max_requests: { value: 10 }, retry_budget: { budget_percent: { value: 20 } } }] } }),
      eds('c', { metadata: { filter_metadata: { ns: { fields: { k: { bool_value: true } } } } } }),
      eds('c', { eds_cluster_config: { eds_config: { path_config_source: { path: '/x' } }, service_name: 's' } }),
      eds('c', { eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: { seconds: 3 } } } }),
      eds('c', { http2_protocol_options: {} }),
      { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [] } },
      { name: 'c', type: 'LOGICAL_DNS' },
    ];
    for (const c of outside) expect(expectAgreement(encodeAny(CLUSTER, c))).toBe('general');
  });

  it('takes circuit breakers and outlier detection (what mesh clusters carry), checked by the general validator', () => {
    const mesh = [
      eds('c', { outlier_detection: { consecutive_5xx: { value: 3 } } }),
      eds('c', { circuit_breakers: { thresholds: [{ max_requests: { value: 10 } }] } }),
      eds('outbound|9080|v1|reviews.bench.svc.cluster.local', {
        outlier_detection: { consecutive_5xx: { value: 5 }, interval: { seconds: 10 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: { value: 10 }, split_external_local_origin_errors: true },
        circuit_breakers: {
          thresholds: [
            { max_connections: { value: 1024 }, max_pending_requests: { value: 1024 }, max_requests: { value: 1024 }, max_retries: { value: 3 } },
            { priority: 'HIGH', max_requests: {}, track_remaining: true },
          ],
          per_host_thresholds: [{ max_connections: { value: 10 } }],
        },
      }),
      // Envoy Gateway's (fixtures/xds-real): circuit breakers and outlier detection on a RANDOM cluster without service_name.
      { name: 'eg', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 15 }, lb_policy: 'RANDOM', circuit_breakers: { thresholds: [{ max_retries: { value: 1024 } }] }, outlier_detection: { consecutive_gateway_failure: { value: 4 }, enforcing_consecutive_gateway_failure: { value: 100 }, max_ejection_time: { seconds: 300 } } },
    ];
    for (const c of mesh) expect(expectAgreement(encodeAny(CLUSTER, c))).toBe('fast');
    expect(decodeClusterWire(encodeAny(CLUSTER, mesh[2]!).value)).toMatchObject({
      connect_timeout: 1000,
      circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: 1024, max_retries: 3 }, { priority: 'HIGH', max_requests: 0, track_remaining: true }] },
      outlier_detection: { consecutive_5xx: 5, interval: 10_000, base_ejection_time: 30_000, max_ejection_percent: 10 },
    });
    // What the general validator refuses, the fast path leaves to the general path, which says why.
    const invalid = [
      eds('c', { outlier_detection: { max_ejection_percent: { value: 101 } } }),
      eds('c', { outlier_detection: { max_ejection_time: { seconds: 1 } } }),
      eds('c', { circuit_breakers: {}, connect_timeout: { seconds: 0 } }),
    ];
    expectRejected(CLUSTER, invalid);
    expect(general(encodeAny(CLUSTER, invalid[0]!))).toMatchObject({ ok: false, message: expect.stringContaining('outlier_detection.max_ejection_percent') });
  });

  it('rejects nothing itself: invalid input gets the general path and its error message', () => {
    const invalid = [eds('c', { connect_timeout: { seconds: 0 } }), eds(''), eds('c', { lb_policy: 'CLUSTER_PROVIDED' })];
    expectRejected(CLUSTER, invalid);
    expect(general(encodeAny(CLUSTER, invalid[0]!))).toMatchObject({ ok: false, message: expect.stringContaining('connect_timeout must be greater than 0') });
  });

  it('property: for generated clusters and every truncation of one, fast and general paths agree (300 + 300 runs, and 300 + 300 of mesh clusters)', () => {
    const str = fc.oneof(fc.constantFrom('', 'c', 'outbound|80||a.b', 'ü'), fc.string({ maxLength: 6 }));
    const wrapped = fc.record({ value: fc.constantFrom(0, 3, 10, 100, 101, 4_294_967_295) }, { requiredKeys: [] });
    const duration = fc.record({ seconds: fc.constantFrom(0, 1, 10, 30, 300), nanos: fc.constantFrom(0, 5, 999_999_999, 1_000_000_000) }, { requiredKeys: [] });
    const thresholds = fc.record(
      {
        priority: fc.constantFrom('DEFAULT', 'HIGH'),
        max_connections: wrapped,
        max_pending_requests: wrapped,
        max_requests: wrapped,
        max_retries: wrapped,
        track_remaining: fc.boolean(),
        // Outside the fast path.
        max_connection_pools: wrapped,
      },
      { requiredKeys: [] },
    );
    const outlierDetection = fc.record(
      {
        consecutive_5xx: wrapped,
        interval: duration,
        base_ejection_time: duration,
        max_ejection_percent: wrapped,
        enforcing_consecutive_5xx: wrapped,
        success_rate_stdev_factor: wrapped,
        consecutive_gateway_failure: wrapped,
        failure_percentage_threshold: wrapped,
        failure_percentage_request_volume: wrapped,
        max_ejection_time: duration,
        max_ejection_time_jitter: duration,
        split_external_local_origin_errors: fc.boolean(),
        // Outside the fast path.
        always_eject_one_host: fc.record({ value: fc.boolean() }),
      },
      { requiredKeys: [] },
    );
    const cluster = fc.record(
      {
        name: str,
        type: fc.constantFrom('EDS', 'EDS', 'EDS', 'STATIC', 'STRICT_DNS'),
        eds_cluster_config: fc.record(
          {
            eds_config: fc.record({ ads: fc.constant({}), resource_api_version: fc.constantFrom('AUTO', 'V3'), initial_fetch_timeout: fc.constant({ seconds: 1 }) }, { requiredKeys: [] }),
            service_name: str,
          },
          { requiredKeys: [] },
        ),
        connect_timeout: fc.record({ seconds: fc.constantFrom(0, 1, 1, 5, 4_294_967_295, 4_294_967_296), nanos: fc.constantFrom(0, 0, 1, 999_999_999, -1) }, { requiredKeys: [] }),
        lb_policy: fc.constantFrom('ROUND_ROBIN', 'ROUND_ROBIN', 'RANDOM', 'RANDOM', 'LEAST_REQUEST', 'RING_HASH', 'CLUSTER_PROVIDED'),
        // Explicit on the wire even when false, and outside the fast path.
        ignore_health_on_host_removal: fc.boolean(),
      },
      { requiredKeys: ['name', 'type'] },
    );
    checkProperty(CLUSTER, cluster, 300);
    // Mesh clusters (mostly valid), so that circuit breakers and outlier detection take the fast path often.
    const meshWrapped = fc.record({ value: fc.constantFrom(0, 5, 10, 100, 1024) });
    const meshThresholds = fc.record(
      { priority: fc.constantFrom('DEFAULT', 'HIGH'), max_connections: meshWrapped, max_pending_requests: meshWrapped, max_requests: meshWrapped, max_retries: meshWrapped, track_remaining: fc.boolean() },
      { requiredKeys: [] },
    );
    const circuitBreakers = fc.record(
      { thresholds: fc.array(fc.oneof({ arbitrary: meshThresholds, weight: 6 }, { arbitrary: thresholds, weight: 1 }), { maxLength: 2 }), per_host_thresholds: fc.array(meshThresholds, { maxLength: 1 }) },
      { requiredKeys: [] },
    );
    const meshOutlierDetection = fc.record(
      {
        consecutive_5xx: meshWrapped,
        interval: fc.record({ seconds: fc.constantFrom(1, 10) }),
        base_ejection_time: fc.record({ seconds: fc.constantFrom(10, 30) }),
        max_ejection_percent: fc.record({ value: fc.constantFrom(10, 100, 101) }),
        consecutive_gateway_failure: meshWrapped,
        enforcing_consecutive_gateway_failure: meshWrapped,
        max_ejection_time: fc.record({ seconds: fc.constantFrom(20, 300) }),
        split_external_local_origin_errors: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    const meshCluster = fc
      .tuple(fc.constantFrom('outbound|9080|v1|reviews', 'ü'), fc.option(circuitBreakers, { nil: undefined }), fc.option(fc.oneof({ arbitrary: meshOutlierDetection, weight: 6 }, { arbitrary: outlierDetection, weight: 1 }), { nil: undefined }), fc.nat(7))
      // One in eight with metadata: outside the fast path.
      .map(([name, circuit_breakers, outlier_detection, n]) => ({
        ...eds(name),
        ...(circuit_breakers ? { circuit_breakers } : {}),
        ...(outlier_detection ? { outlier_detection } : {}),
        ...(n === 0 ? { metadata: { filter_metadata: { ns: { fields: {} } } } } : {}),
      }));
    checkProperty(CLUSTER, meshCluster, 300);
  });
});
