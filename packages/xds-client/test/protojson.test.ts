import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { anyFromProto3Json, encodeProto3Json, fromProto3Json, opaqueJson, structToJson } from '../src/proto/ProtoJson.js';
import { decodeAny } from '../src/proto/EnvoyProtos.js';
import { ValidationError } from '../src/resources/ValidationError.js';

const ROUTE_ACTION = 'envoy.config.route.v3.RouteAction';

function thrown(f: () => unknown): ValidationError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('fromProto3Json', () => {
  it('accepts snake_case and lowerCamelCase names alike', () => {
    const a = fromProto3Json(ROUTE_ACTION, { cluster: 'c', retry_policy: { num_retries: 3, retry_on: '5xx' } });
    const b = fromProto3Json(ROUTE_ACTION, { cluster: 'c', retryPolicy: { numRetries: 3, retryOn: '5xx' } });
    expect(a).toEqual(b);
    expect(a['retry_policy']).toMatchObject({ num_retries: { value: 3 }, retry_on: '5xx' });
  });

  it('parses Duration strings', () => {
    expect(fromProto3Json(ROUTE_ACTION, { cluster: 'c', timeout: '0.200s' })['timeout']).toEqual({ seconds: '0', nanos: 200_000_000 });
    expect(fromProto3Json(ROUTE_ACTION, { cluster: 'c', timeout: '1.5s' })['timeout']).toEqual({ seconds: '1', nanos: 500_000_000 });
    expect(fromProto3Json(ROUTE_ACTION, { cluster: 'c', timeout: '30s' })['timeout']).toEqual({ seconds: '30', nanos: 0 });
    const e = thrown(() => fromProto3Json(ROUTE_ACTION, { cluster: 'c', timeout: '5m' }));
    expect(e.fieldPath).toBe('timeout');
  });

  it('parses Timestamps', () => {
    const o = fromProto3Json('envoy.admin.v3.UpdateFailureState', { last_update_attempt: '2021-03-31T01:20:33.302Z' });
    expect(o['last_update_attempt']).toEqual({ seconds: String(Date.UTC(2021, 2, 31, 1, 20, 33) / 1000), nanos: 302_000_000 });
  });

  it('takes wrappers as bare scalars, int64 as string or number, enums by name or number', () => {
    const o = fromProto3Json('envoy.config.cluster.v3.Cluster', {
      name: 'x',
      perConnectionBufferLimitBytes: 1024,
      lbPolicy: 'RING_HASH',
      ringHashLbConfig: { minimumRingSize: '2048', maximumRingSize: 4096 },
      type: 3,
    });
    expect(o['per_connection_buffer_limit_bytes']).toEqual({ value: 1024 });
    expect(o['ring_hash_lb_config']).toEqual({ minimum_ring_size: { value: '2048' }, maximum_ring_size: { value: '4096' } });
    expect(o['lb_policy']).toBe('RING_HASH');
    expect(o['type']).toBe('EDS');
    expect(thrown(() => fromProto3Json('envoy.config.cluster.v3.Cluster', { lbPolicy: 'FASTEST' })).fieldPath).toBe('lb_policy');
    expect(thrown(() => fromProto3Json('envoy.config.cluster.v3.Cluster', { perConnectionBufferLimitBytes: -1 })).fieldPath).toBe('per_connection_buffer_limit_bytes');
  });

  it('takes Struct as plain JSON and bytes as base64', () => {
    const md = fromProto3Json('envoy.config.core.v3.Metadata', { filter_metadata: { istio: { a: [1, 'x', null, { b: true }] } } });
    const fm = md['filter_metadata'] as Record<string, unknown>;
    expect(structToJson(fm['istio'])).toEqual({ a: [1, 'x', null, { b: true }] });
    const ds = fromProto3Json('envoy.config.core.v3.DataSource', { inline_bytes: Buffer.from('hello').toString('base64') });
    expect(Buffer.from(ds['inline_bytes'] as Uint8Array).toString()).toBe('hello');
  });

  it('encodes Any with @type recursively', () => {
    const any = anyFromProto3Json({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      delay: { fixedDelay: '2s', percentage: { numerator: 50 } },
    });
    expect(decodeAny(any)).toMatchObject({ delay: { fixed_delay: { seconds: '2' }, percentage: { numerator: 50 } } });
    // Well-known types carry their JSON form under "value".
    const sv = anyFromProto3Json({ '@type': 'type.googleapis.com/google.protobuf.StringValue', value: 'hi' });
    expect(decodeAny(sv)).toEqual({ value: 'hi' });
  });

  it('keeps Any bodies of types Meshlet has no proto for as a Struct under the original type URL', () => {
    const body = { debug: 'false', stat_prefix: 'istio', nested: { list: [1, 2] } };
    const any = anyFromProto3Json({ '@type': 'type.googleapis.com/stats.PluginConfig', ...body });
    expect(any.type_url).toBe('type.googleapis.com/stats.PluginConfig');
    expect(opaqueJson(any.value)).toEqual(body);
  });

  it('accepts a single object where a list is expected, as Envoy does', () => {
    const o = fromProto3Json('envoy.config.listener.v3.FilterChain', { filters: { name: 'f' } });
    expect(o['filters']).toEqual([{ name: 'f' }]);
  });

  it('reports unknown fields and wrong types with the JSON path', () => {
    const e = thrown(() => fromProto3Json('envoy.config.route.v3.RouteConfiguration', { virtualHosts: [{ name: 'v', routes: [{ match: { prefx: '/' } }] }] }));
    expect(e.fieldPath).toBe('virtual_hosts[0].routes[0].match.prefx');
    expect(thrown(() => fromProto3Json(ROUTE_ACTION, { cluster: 5 })).fieldPath).toBe('cluster');
    expect(thrown(() => fromProto3Json(ROUTE_ACTION, { cluster: 'a', clusterHeader: 'b' })).reason).toMatch(/oneof/);
    expect(fromProto3Json(ROUTE_ACTION, { cluster: 'a', bogus: 1 }, { ignoreUnknownFields: true })).toEqual({ cluster: 'a', hash_policy: [], rate_limits: [], upgrade_configs: [], request_mirror_policies: [] });
  });

  it('property: arbitrary JSON never throws anything but ValidationError', () => {
    const types = ['envoy.config.listener.v3.Listener', 'envoy.config.route.v3.RouteConfiguration', 'envoy.config.cluster.v3.Cluster', 'envoy.config.endpoint.v3.ClusterLoadAssignment', ROUTE_ACTION, 'google.protobuf.Any', 'google.protobuf.Struct'];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.jsonValue(), (t, json) => {
        try {
          fromProto3Json(t, json);
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });

  it('property: Durations round-trip through their string form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 999_999_999 }), (s, n) => {
        const text = n === 0 ? `${s}s` : `${s}.${String(n).padStart(9, '0')}s`;
        const o = fromProto3Json('google.protobuf.Duration', text);
        expect(Number(o['seconds'] ?? 0)).toBe(s);
        expect(o['nanos'] ?? 0).toBe(n);
      }),
    );
  });

  it('encodeProto3Json produces bytes that decode to the same object', () => {
    const json = { name: 'c', type: 'EDS', edsClusterConfig: { serviceName: 's' }, connectTimeout: '0.25s' };
    const bytes = encodeProto3Json('envoy.config.cluster.v3.Cluster', json);
    expect(decodeAny({ type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: bytes })).toEqual(fromProto3Json('envoy.config.cluster.v3.Cluster', json));
  });
});
