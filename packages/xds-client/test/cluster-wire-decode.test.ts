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
      eds('c', { outlier_detection: { consecutive_5xx: { value: 3 } } }),
      eds('c', { outlier_detection: { always_eject_one_host: { value: true } } }),
      eds('c', { circuit_breakers: { thresholds: [{ max_requests: { value: 10 } }] } }),
      eds('c', { metadata: { filter_metadata: { ns: { fields: { k: { bool_value: true } } } } } }),
      eds('c', { eds_cluster_config: { eds_config: { path_config_source: { path: '/x' } }, service_name: 's' } }),
      eds('c', { eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: { seconds: 3 } } } }),
      eds('c', { http2_protocol_options: {} }),
      { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [] } },
      { name: 'c', type: 'LOGICAL_DNS' },
    ];
    for (const c of outside) expect(expectAgreement(encodeAny(CLUSTER, c))).toBe('general');
  });

  it('rejects nothing itself: invalid input gets the general path and its error message', () => {
    const invalid = [eds('c', { connect_timeout: { seconds: 0 } }), eds(''), eds('c', { lb_policy: 'CLUSTER_PROVIDED' })];
    expectRejected(CLUSTER, invalid);
    expect(general(encodeAny(CLUSTER, invalid[0]!))).toMatchObject({ ok: false, message: expect.stringContaining('connect_timeout must be greater than 0') });
  });

  it('property: for generated clusters and every truncation of one, fast and general paths agree (300 + 300 runs)', () => {
    const str = fc.oneof(fc.constantFrom('', 'c', 'outbound|80||a.b', 'ü'), fc.string({ maxLength: 6 }));
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
  });
});
