import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ClusterLoadAssignmentResource,
  ClusterResource,
  decodeAny,
  encodeAny,
  ListenerResource,
  RouteConfigurationResource,
  type ResourceType,
} from '@meshlet/xds-client';
import { translateMesh, type TranslatedMesh } from '../src/istio/index.js';

const canary = readFileSync(new URL('../../../examples/canary/mesh.yaml', import.meta.url), 'utf8');
const bookinfo = readFileSync(new URL('./fixtures/mesh/bookinfo.yaml', import.meta.url), 'utf8');

type Obj = Record<string, any>;
const byName = (list: object[], name: string): Obj => {
  const found = (list as Obj[]).find((x) => (x['name'] ?? x['cluster_name']) === name);
  if (!found) throw new Error(`no resource ${name} in ${(list as Obj[]).map((x) => x['name'] ?? x['cluster_name']).join(', ')}`);
  return found;
};
const unpack = (any: Obj): Obj => decodeAny({ type_url: any['type_url'], value: any['value'] })!;
const route = (mesh: TranslatedMesh, host: string, port: number, name: string): Obj =>
  byName(byName(mesh.routes, `outbound|${port}||${host}`)['virtual_hosts'][0]['routes'], name);

const TYPES: [string, ResourceType<unknown>, keyof TranslatedMesh][] = [
  ['envoy.config.listener.v3.Listener', ListenerResource as ResourceType<unknown>, 'listeners'],
  ['envoy.config.route.v3.RouteConfiguration', RouteConfigurationResource as ResourceType<unknown>, 'routes'],
  ['envoy.config.cluster.v3.Cluster', ClusterResource as ResourceType<unknown>, 'clusters'],
  ['envoy.config.endpoint.v3.ClusterLoadAssignment', ClusterLoadAssignmentResource as ResourceType<unknown>, 'endpoints'],
];

/** Every resource must survive the wire (encodeAny) and the xds-client validators, as the ADS server and the in-process loader use them. */
function expectValidXds(mesh: TranslatedMesh): void {
  for (const [typeName, decoder, key] of TYPES) {
    for (const obj of mesh[key] as Obj[]) {
      const any = encodeAny(typeName, obj);
      const { name } = decoder.decode(any);
      expect(name).toBe(obj['name'] ?? obj['cluster_name']);
      // The in-process loader hands the plain objects to fromObject without a wire round trip.
      expect(decoder.fromObject(obj).name).toBe(name);
    }
  }
}

describe('translateMesh: the canary demo (examples/canary/mesh.yaml)', () => {
  const mesh = translateMesh(canary, { file: 'examples/canary/mesh.yaml' });
  const host = 'reviews.demo.local';

  it('produces istiod-named resources and no warnings', () => {
    expect(mesh.warnings).toEqual([]);
    expect(mesh.listeners.map((l: Obj) => l['name'])).toEqual(['reviews.demo.local:9080']);
    expect(mesh.routes.map((r: Obj) => r['name'])).toEqual(['outbound|9080||reviews.demo.local']);
    expect(mesh.clusters.map((c: Obj) => c['name'])).toEqual([
      'outbound|9080||reviews.demo.local',
      'outbound|9080|v1|reviews.demo.local',
      'outbound|9080|v2|reviews.demo.local',
    ]);
    expect(mesh.endpoints.map((e: Obj) => e['cluster_name'])).toEqual(mesh.clusters.map((c: Obj) => c['name']));
  });

  it('passes the xds-client decoders', () => expectValidXds(mesh));

  it('builds an api_listener HCM with RDS over ADS and fault + router filters', () => {
    const l = byName(mesh.listeners, `${host}:9080`);
    const hcm = unpack(l['api_listener']['api_listener']);
    expect(hcm['rds']).toEqual({ config_source: expect.objectContaining({ ads: {} }), route_config_name: `outbound|9080||${host}` });
    expect(hcm['http_filters'].map((f: Obj) => f['name'])).toEqual(['envoy.filters.http.fault', 'envoy.filters.http.router']);
  });

  it('routes 95/5 with the VirtualService retries and timeout', () => {
    const vh = byName(mesh.routes, `outbound|9080||${host}`)['virtual_hosts'][0];
    expect(vh['name']).toBe(`${host}:9080`);
    expect(vh['domains']).toEqual([host, `${host}:9080`]);
    const r = route(mesh, host, 9080, 'canary');
    expect(r['match']).toEqual({ prefix: '/' });
    expect(r['route']['weighted_clusters']['clusters']).toEqual([
      { name: `outbound|9080|v1|${host}`, weight: { value: 95 } },
      { name: `outbound|9080|v2|${host}`, weight: { value: 5 } },
    ]);
    expect(r['route']['timeout']).toEqual({ seconds: 3, nanos: 0 });
    expect(r['route']['max_stream_duration']).toEqual({ max_stream_duration: { seconds: 3, nanos: 0 } });
    const retry = r['route']['retry_policy'];
    expect(retry['num_retries']).toEqual({ value: 3 });
    expect(retry['retry_on']).toBe('5xx,connect-failure');
    expect(retry['retriable_status_codes']).toEqual([]);
    expect(retry['per_try_timeout']).toEqual({ seconds: 0, nanos: 500_000_000 });
    expect(retry['host_selection_retry_max_attempts']).toBe(5);
    expect(retry['retry_host_predicate'].map((p: Obj) => p['name'])).toEqual(['envoy.retry_host_predicates.previous_hosts']);
  });

  it('applies outlierDetection to every cluster as istiod does', () => {
    for (const c of mesh.clusters as Obj[]) {
      expect(c['type']).toBe('EDS');
      expect(c['eds_cluster_config']).toEqual({ service_name: c['name'], eds_config: { ads: {} } });
      expect(c['outlier_detection']).toEqual({
        enforcing_success_rate: { value: 0 },
        consecutive_5xx: { value: 3 },
        enforcing_consecutive_5xx: { value: 100 },
        interval: { seconds: 1, nanos: 0 },
        base_ejection_time: { seconds: 5, nanos: 0 },
        max_ejection_percent: { value: 100 },
      });
      expect(c['common_lb_config']).toEqual({ healthy_panic_threshold: { value: 0 } });
      expect(c['lb_policy']).toBe('LEAST_REQUEST');
      expect(c['circuit_breakers']['thresholds'][0]).toEqual({
        max_connections: { value: 4294967295 },
        max_pending_requests: { value: 4294967295 },
        max_requests: { value: 4294967295 },
        max_retries: { value: 4294967295 },
        track_remaining: true,
      });
    }
  });

  it('puts only the matching endpoints in subset clusters, with their labels', () => {
    const ports = (name: string) =>
      byName(mesh.endpoints, name)['endpoints'].flatMap((g: Obj) => g['lb_endpoints'].map((e: Obj) => e['endpoint']['address']['socket_address']['port_value']));
    expect(ports(`outbound|9080||${host}`)).toEqual([19081, 19082, 19083]);
    expect(ports(`outbound|9080|v1|${host}`)).toEqual([19081]);
    expect(ports(`outbound|9080|v2|${host}`)).toEqual([19082, 19083]);
    const decoded = ClusterLoadAssignmentResource.decode(encodeAny('envoy.config.endpoint.v3.ClusterLoadAssignment', byName(mesh.endpoints, `outbound|9080|v2|${host}`)));
    expect(decoded.resource.endpoints[0]!.lb_endpoints[0]!.metadata).toEqual({ 'envoy.lb': { version: 'v2' } });
  });
});

describe('translateMesh: the bookinfo fixture', () => {
  const mesh = translateMesh(bookinfo, { file: 'bookinfo.yaml' });
  const host = 'ratings.bookinfo.svc.cluster.local';

  it('passes the xds-client decoders', () => expectValidXds(mesh));

  it('builds listeners for HTTP-family ports only, clusters for every port', () => {
    expect(mesh.listeners.map((l: Obj) => l['name'])).toEqual([`${host}:9080`, `${host}:9090`]);
    expect(byName(mesh.listeners, `${host}:9080`)['address']).toEqual({ socket_address: { address: '10.0.0.7', port_value: 9080 } });
    expect(mesh.clusters.map((c: Obj) => c['name'])).toContain(`outbound|5432|v2|${host}`);
    expect(mesh.clusters).toHaveLength(9);
  });

  it('adds Kubernetes short names to the virtual host domains', () => {
    const vh = byName(mesh.routes, `outbound|9080||${host}`)['virtual_hosts'][0];
    expect(vh['domains']).toEqual([host, `${host}:9080`, 'ratings', 'ratings:9080', 'ratings.bookinfo', 'ratings.bookinfo:9080', 'ratings.bookinfo.svc', 'ratings.bookinfo.svc:9080']);
  });

  it('keeps VirtualService route order and names routes http.name[.match.name]', () => {
    const names = byName(mesh.routes, `outbound|9080||${host}`)['virtual_hosts'][0]['routes'].map((r: Obj) => r['name']);
    expect(names).toEqual(['moved', 'health', 'faulty.by-header', 'faulty', 'main']);
    // The match bound to port 9090 only appears on that port's route table.
    const grpcNames = byName(mesh.routes, `outbound|9090||${host}`)['virtual_hosts'][0]['routes'].map((r: Obj) => r['name']);
    expect(grpcNames).toEqual(['moved', 'health', 'faulty.by-header', 'faulty', 'grpc-abort', 'main']);
  });

  it('translates redirect and directResponse', () => {
    expect(route(mesh, host, 9080, 'moved')).toMatchObject({
      match: { path: '/old' },
      redirect: { path_redirect: '/new', host_redirect: 'ratings.example', response_code: 'PERMANENT_REDIRECT' },
    });
    expect(route(mesh, host, 9080, 'health')).toMatchObject({ match: { prefix: '/healthz' }, direct_response: { status: 204, body: { inline_string: 'ok' } } });
  });

  it('translates header, query, method and authority matches', () => {
    const r = route(mesh, host, 9080, 'faulty.by-header');
    expect(r['match']['prefix']).toBe('/');
    expect(r['match']['headers']).toEqual([
      { name: ':method', string_match: { exact: 'POST' } },
      { name: ':authority', string_match: { prefix: 'ratings' } },
      { name: 'x-test', string_match: { exact: 'fault' } },
      { name: 'x-present', present_match: true, invert_match: false },
      { name: 'x-skip', string_match: { prefix: 'y' }, invert_match: true },
    ]);
    expect(r['match']['query_parameters']).toEqual([{ name: 'debug', string_match: { safe_regex: { regex: '^(1|true)$' } } }]);
    const re = route(mesh, host, 9080, 'faulty');
    expect(re['match']).toEqual({ safe_regex: { regex: '/api/v[0-9]+/.*' }, case_sensitive: { value: false } });
  });

  it('translates fault injection with FractionalPercent over a MILLION', () => {
    const r = route(mesh, host, 9080, 'faulty');
    const fault = unpack(r['typed_per_filter_config']['envoy.filters.http.fault']);
    expect(fault['delay']).toMatchObject({ fixed_delay: { seconds: '1', nanos: 500_000_000 }, percentage: { numerator: 1000, denominator: 'MILLION' } });
    expect(fault['abort']).toMatchObject({ http_status: 503, percentage: { numerator: 500_000, denominator: 'MILLION' } });
    const g = unpack(route(mesh, host, 9090, 'grpc-abort')['typed_per_filter_config']['envoy.filters.http.fault']);
    expect(g['abort']).toMatchObject({ grpc_status: 14, percentage: { numerator: 1_000_000, denominator: 'MILLION' } });
  });

  it('disables retries with attempts: 0', () => {
    expect(route(mesh, host, 9080, 'faulty')['route']['retry_policy']).toBeUndefined();
  });

  it('lets portLevelSettings replace the consistentHash load balancer, and with it the hash policy', () => {
    // Port 9090's loadBalancer (ROUND_ROBIN) replaces the whole top-level loadBalancer component.
    const g = route(mesh, host, 9090, 'grpc-abort')['route'];
    expect(g['hash_policy']).toBeUndefined();
    expect(g['retry_policy']['retry_host_predicate'].map((p: Obj) => p['name'])).toEqual(['envoy.retry_host_predicates.previous_hosts']);
    expect(g['timeout']).toEqual({ seconds: 0, nanos: 0 });
  });

  it('maps retryOn status codes, retryRemoteLocalities, rewrite and header operations', () => {
    const r = route(mesh, host, 9080, 'main');
    const retry = r['route']['retry_policy'];
    expect(retry['retry_on']).toBe('gateway-error,reset,retriable-status-codes');
    expect(retry['retriable_status_codes']).toEqual([503, 429]);
    expect(retry['num_retries']).toEqual({ value: 4 });
    expect(retry['per_try_timeout']).toEqual({ seconds: 2, nanos: 0 });
    expect(retry['retry_priority']['name']).toBe('envoy.retry_priorities.previous_priorities');
    expect(unpack(retry['retry_priority']['typed_config'])).toEqual({ update_frequency: 2 });
    expect(r['route']['prefix_rewrite']).toBe('/v2');
    expect(r['route']['host_rewrite_literal']).toBe('ratings.internal');
    expect(r['request_headers_to_add']).toEqual([
      { header: { key: 'x-mesh', value: 'meshlet' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-trace', value: '1' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(r['request_headers_to_remove']).toEqual(['x-internal']);
    expect(r['response_headers_to_remove']).toEqual(['server']);
    expect(r['route']['weighted_clusters']['clusters']).toEqual([
      { name: `outbound|9080|v1|${host}`, weight: { value: 70 }, request_headers_to_add: [{ header: { key: 'x-canary', value: 'no' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] },
      { name: `outbound|9080|v2|${host}`, weight: { value: 30 } },
    ]);
  });

  it('maps consistentHash to RING_HASH plus a route hash_policy', () => {
    const c = byName(mesh.clusters, `outbound|9080|v1|${host}`);
    expect(c['lb_policy']).toBe('RING_HASH');
    expect(c['ring_hash_lb_config']).toEqual({ minimum_ring_size: { value: 2048 } });
    expect(route(mesh, host, 9080, 'faulty')['route']['hash_policy']).toEqual([{ header: { header_name: 'x-user' } }]);
    // The subset's own loadBalancer replaces the whole component; portLevelSettings override per port.
    expect(byName(mesh.clusters, `outbound|9080|v2|${host}`)['lb_policy']).toBe('RANDOM');
    expect(byName(mesh.clusters, `outbound|9090||${host}`)['lb_policy']).toBe('ROUND_ROBIN');
  });

  it('maps connectionPool to circuit breaker thresholds and protocol options', () => {
    const c = byName(mesh.clusters, `outbound|9080||${host}`);
    expect(c['circuit_breakers']['thresholds']).toEqual([
      { max_connections: { value: 100 }, max_pending_requests: { value: 10 }, max_requests: { value: 50 }, max_retries: { value: 4 }, track_remaining: true },
    ]);
    expect(c['connect_timeout']).toEqual({ seconds: 0, nanos: 250_000_000 });
    const opts = unpack(c['typed_extension_protocol_options']['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']);
    expect(opts['common_http_protocol_options']['max_requests_per_connection']).toEqual({ value: 7 });
    expect(opts['explicit_http_config']).toHaveProperty('http_protocol_options');
    const grpc = unpack(byName(mesh.clusters, `outbound|9090||${host}`)['typed_extension_protocol_options']['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']);
    expect(grpc['explicit_http_config']).toHaveProperty('http2_protocol_options');
    const decoded = ClusterResource.decode(encodeAny('envoy.config.cluster.v3.Cluster', byName(mesh.clusters, `outbound|9090||${host}`)));
    expect(decoded.resource.protocol).toBe('HTTP2');
  });

  it('maps outlierDetection gateway errors and minHealthPercent', () => {
    const c = byName(mesh.clusters, `outbound|9080||${host}`);
    expect(c['outlier_detection']).toEqual({
      enforcing_success_rate: { value: 0 },
      consecutive_5xx: { value: 0 },
      enforcing_consecutive_5xx: { value: 0 },
      consecutive_gateway_failure: { value: 2 },
      enforcing_consecutive_gateway_failure: { value: 100 },
      interval: { seconds: 30, nanos: 0 },
      base_ejection_time: { seconds: 60, nanos: 0 },
    });
    expect(c['common_lb_config']).toEqual({ healthy_panic_threshold: { value: 25 } });
  });

  it('writes ISTIO_MUTUAL as the grpc generator does', () => {
    const c = byName(mesh.clusters, `outbound|9080|v2|${host}`);
    expect(c['transport_socket']['name']).toBe('envoy.transport_sockets.tls');
    const tls = unpack(c['transport_socket']['typed_config']);
    expect(tls['common_tls_context']['tls_certificate_provider_instance']).toEqual({ instance_name: 'default', certificate_name: 'default' });
    expect(tls['common_tls_context']['validation_context']['ca_certificate_provider_instance']).toEqual({ instance_name: 'default', certificate_name: 'ROOTCA' });
    expect(tls['common_tls_context']['validation_context']['match_subject_alt_names']).toEqual([{ exact: 'spiffe://cluster.local/ns/bookinfo/sa/ratings' }]);
    expect(byName(mesh.clusters, `outbound|9080|v1|${host}`)['transport_socket']).toBeUndefined();
  });

  it('groups endpoints by locality with summed weights and resolves endpoint ports by port name / targetPort', () => {
    const cla = byName(mesh.endpoints, `outbound|9080||${host}`);
    expect(cla['endpoints'].map((g: Obj) => [g['locality'], g['load_balancing_weight']])).toEqual([
      [{ region: 'us-east', zone: 'zone-a', sub_zone: 'rack1' }, { value: 4 }],
      [{ region: 'us-east', zone: 'zone-b', sub_zone: '' }, { value: 1 }],
    ]);
    const addr = (name: string) =>
      byName(mesh.endpoints, name)['endpoints'].flatMap((g: Obj) => g['lb_endpoints'].map((e: Obj) => `${e['endpoint']['address']['socket_address']['address']}:${e['endpoint']['address']['socket_address']['port_value']}`));
    expect(addr(`outbound|9080||${host}`)).toEqual(['10.1.0.1:8081', '10.1.0.3:9080', '10.1.0.2:8082']);
    expect(addr(`outbound|9090|v1|${host}`)).toEqual(['10.1.0.1:7070', '10.1.0.2:7070']);
    expect(addr(`outbound|5432|v2|${host}`)).toEqual(['10.1.0.3:5432']);
  });
});

describe('translateMesh: defaults', () => {
  const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo}
spec:
  hosts: [echo.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`;
  it('gives a host without a VirtualService istiod\'s default route (no timeout, default retries)', () => {
    const mesh = translateMesh(yaml);
    expectValidXds(mesh);
    const r = route(mesh, 'echo.local', 80, 'default');
    expect(r['match']).toEqual({ prefix: '/' });
    expect(r['route']['cluster']).toBe('outbound|80||echo.local');
    expect(r['route']['timeout']).toEqual({ seconds: 0, nanos: 0 });
    expect(r['route']['retry_policy']).toEqual({
      retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      num_retries: { value: 2 },
      retriable_status_codes: [503],
      host_selection_retry_max_attempts: 5,
      retry_host_predicate: [expect.objectContaining({ name: 'envoy.retry_host_predicates.previous_hosts' })],
    });
    expect(byName(mesh.clusters, 'outbound|80||echo.local')['outlier_detection']).toBeUndefined();
  });

  it('keeps the default retry conditions when retries only set attempts', () => {
    const mesh = translateMesh(`${yaml}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo}
spec:
  hosts: [echo.local]
  http:
    - route: [{destination: {host: echo.local}}]
      retries: {attempts: 5}
`);
    const r = byName(mesh.routes, 'outbound|80||echo.local')['virtual_hosts'][0]['routes'][0];
    expect(r['route']['cluster']).toBe('outbound|80||echo.local');
    expect(r['route']['retry_policy']).toMatchObject({ num_retries: { value: 5 }, retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', retriable_status_codes: [503] });
  });

  it('maps each consistentHash key and maglev', () => {
    const keys: [string, unknown][] = [
      ['httpCookie: {name: session, path: /, ttl: 10s}', { cookie: { name: 'session', path: '/', ttl: { seconds: 10, nanos: 0 } } }],
      ['useSourceIp: true', { connection_properties: { source_ip: true } }],
      ['httpQueryParameterName: user', { query_parameter: { name: 'user' } }],
    ];
    for (const [key, expected] of keys) {
      const mesh = translateMesh(`${yaml}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo.local
  trafficPolicy: {loadBalancer: {consistentHash: {${key}}}}
`);
      expectValidXds(mesh);
      expect(route(mesh, 'echo.local', 80, 'default')['route']['hash_policy']).toEqual([expected]);
      // istiod's DefaultConsistentHashPolicy: a retry must stay on the hashed host, so no previous_hosts predicate.
      expect(route(mesh, 'echo.local', 80, 'default')['route']['retry_policy']).toEqual({
        retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
        num_retries: { value: 2 },
        retriable_status_codes: [503],
        host_selection_retry_max_attempts: 5,
      });
      expect(byName(mesh.clusters, 'outbound|80||echo.local')).toMatchObject({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 1024 } } });
    }
    const maglev = translateMesh(`${yaml}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo.local
  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}}}
`);
    expect(byName(maglev.clusters, 'outbound|80||echo.local')).toMatchObject({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 65537 } } });
    expectValidXds(maglev);
  });

  it('reports ignored-but-harmless fields as warnings', () => {
    const mesh = translateMesh(`${yaml}  exportTo: ["."]
`);
    expect(mesh.warnings).toEqual([
      expect.objectContaining({ severity: 'warning', line: 10, column: 3, path: 'ServiceEntry echo: spec.exportTo', message: expect.stringContaining('ignored') }),
    ]);
  });
});
