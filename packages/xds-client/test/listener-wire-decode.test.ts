import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeAny, encodeAny } from '../src/proto/EnvoyProtos.js';
import { ListenerResource } from '../src/resources/listener/ListenerResource.js';
import { decodeListenerWire } from '../src/resources/listener/ListenerWire.js';
import { decodeHttpConnectionManagerWire } from '../src/resources/listener/HttpConnectionManagerWire.js';
import { httpConnectionManager } from '../src/resources/listener/HttpConnectionManager.js';
import { wireAgreement } from './helpers/wireAgreement.js';

const LISTENER = 'envoy.config.listener.v3.Listener';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

const { general, expectAgreement, expectRejected, checkProperty } = wireAgreement(ListenerResource, decodeListenerWire);

/** An HCM as istiod's grpc generator and the bench write it: RDS over ADS, the router. */
const hcm = (extra: Record<string, unknown> = {}) => ({
  stat_prefix: 'reviews:9080',
  rds: { route_config_name: 'outbound|9080||reviews', config_source: { ads: {}, resource_api_version: 'V3' } },
  http_filters: [{ name: 'envoy.filters.http.router', typed_config: { type_url: ROUTER, value: Buffer.alloc(0) } }],
  ...extra,
});
const apiListener = (h: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'reviews:9080',
  api_listener: { api_listener: encodeAny(HCM, h) },
  ...extra,
});

/**
 * The HCM fast path against the general one alone (protobufjs decode, then the validator): the
 * same model or nothing, for any bytes. (ListenerResource's own general path uses the HCM fast
 * path, so the Listener agreement below does not check it.)
 */
function expectHcmAgreement(bytes: Uint8Array): 'fast' | 'general' | 'rejected' {
  let g: { ok: true; model: unknown } | { ok: false };
  try {
    g = { ok: true, model: httpConnectionManager(decodeAny({ type_url: `type.googleapis.com/${HCM}`, value: bytes })!, '') };
  } catch {
    g = { ok: false };
  }
  const fast = decodeHttpConnectionManagerWire(bytes);
  if (fast === undefined) return g.ok ? 'general' : 'rejected';
  expect(g.ok).toBe(true);
  expect(fast).toStrictEqual((g as { model: object }).model);
  expect(Object.keys(fast)).toStrictEqual(Object.keys((g as { model: object }).model));
  return 'fast';
}

describe('Listener and HttpConnectionManager one-pass wire decode', () => {
  it('decodes a client-side api_listener (RDS over ADS, the router) to the general path model', () => {
    const any = encodeAny(LISTENER, apiListener(hcm()));
    expect(expectAgreement(any)).toBe('fast');
    expect(decodeListenerWire(any.value)).toStrictEqual({
      name: 'reviews:9080',
      api_listener: {
        stat_prefix: 'reviews:9080',
        rds: { route_config_name: 'outbound|9080||reviews', config_source_ads: true },
        http_filters: [{ name: 'envoy.filters.http.router', is_optional: false, config: { kind: 'router' } }],
      },
      filter_chains: [],
    });
    const value = encodeAny(HCM, hcm()).value;
    expect(expectHcmAgreement(value)).toBe('fast');
    // generate_request_id: a BoolValue whose absence means true; its empty form means false.
    expect(decodeHttpConnectionManagerWire(encodeAny(HCM, hcm({ generate_request_id: { value: false } })).value)?.generate_request_id).toBe(false);
    expect(decodeHttpConnectionManagerWire(encodeAny(HCM, hcm({ generate_request_id: {} })).value)?.generate_request_id).toBe(false);
    expect(decodeHttpConnectionManagerWire(encodeAny(HCM, hcm({ generate_request_id: { value: true } })).value)?.generate_request_id).toBe(true);
    expect(decodeHttpConnectionManagerWire(value)).not.toHaveProperty('generate_request_id');
    const shapes = [
      hcm({ rds: { route_config_name: 'r', config_source: { self: {} } } }),
      hcm({ rds: { route_config_name: 'r' } }),
      hcm({ stat_prefix: '', http_filters: [{ name: 'envoy.router', typed_config: { type_url: ROUTER }, is_optional: true }] }),
      hcm({ http_filters: [] }),
      hcm({ generate_request_id: { value: false } }),
      hcm({ generate_request_id: { value: true } }),
      hcm({ generate_request_id: {} }),
    ];
    for (const h of shapes) {
      expect(expectHcmAgreement(encodeAny(HCM, h).value)).toBe('fast');
      expect(expectAgreement(encodeAny(LISTENER, apiListener(h)))).toBe('fast');
    }
  });

  it('leaves everything else to the general path (same model)', () => {
    const outside = [
      hcm({ http_filters: [{ name: 'envoy.filters.http.fault', typed_config: encodeAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {}) }, hcm().http_filters[0]] }),
      hcm({ http_filters: [{ name: 'envoy.filters.http.router' }] }),
      hcm({ http_filters: [{ name: 'envoy.filters.http.router', typed_config: encodeAny('envoy.extensions.filters.http.router.v3.Router', { suppress_envoy_headers: true }) }] }),
      hcm({ http_filters: [{ name: 'my-router', typed_config: { type_url: ROUTER } }] }),
      hcm({ common_http_protocol_options: { max_stream_duration: { seconds: 5 } } }),
      hcm({ rds: undefined, route_config: { name: 'inline', virtual_hosts: [] } }),
      hcm({ rds: { route_config_name: 'r', config_source: { path_config_source: { path: '/x' } } } }),
    ];
    for (const h of outside) {
      expect(expectHcmAgreement(encodeAny(HCM, h).value)).toBe('general');
      expect(expectAgreement(encodeAny(LISTENER, apiListener(h)))).toBe('general');
    }
    const listeners = [
      apiListener(hcm(), { address: { socket_address: { address: '0.0.0.0', port_value: 15006 } } }),
      apiListener(hcm(), { stat_prefix: 'x' }),
      { name: 'l', api_listener: { api_listener: { type_url: 'example.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', value: encodeAny(HCM, hcm()).value } } },
      { name: 'inbound', address: { socket_address: { address: '0.0.0.0', port_value: 15006 } }, filter_chains: [{ filters: [{ name: 'hcm', typed_config: encodeAny(HCM, hcm()) }] }] },
    ];
    for (const l of listeners) expect(expectAgreement(encodeAny(LISTENER, l))).toBe('general');
  });

  it('rejects nothing itself: invalid input gets the general path and its error message', () => {
    const invalid = [
      apiListener(hcm({ rds: { route_config_name: '' } })),
      apiListener(hcm({ rds: undefined })),
      apiListener(hcm({ http_filters: [{ name: '', typed_config: { type_url: ROUTER } }] })),
      { name: 'l', api_listener: {} },
      { name: 'l', api_listener: { api_listener: encodeAny('envoy.extensions.filters.http.router.v3.Router', {}) } },
      apiListener(hcm(), { name: '' }),
    ];
    expectRejected(LISTENER, invalid);
    expect(general(encodeAny(LISTENER, invalid[0]!))).toMatchObject({ ok: false, message: expect.stringContaining('api_listener.api_listener.rds.route_config_name') });
  });

  it('property: for generated HCMs and listeners and every truncation of one, fast and general paths agree (300 + 300 runs each)', () => {
    const str = fc.oneof(fc.constantFrom('', 'r', 'outbound|9080||reviews', 'ü'), fc.string({ maxLength: 5 }));
    const routerName = fc.constantFrom('envoy.filters.http.router', 'envoy.router', 'router', '');
    const filter = fc.record(
      {
        name: routerName,
        typed_config: fc.oneof(
          fc.constant({ type_url: ROUTER }),
          fc.constant({ type_url: ROUTER, value: Buffer.alloc(0) }),
          // Outside the fast path.
          fc.constant(encodeAny('envoy.extensions.filters.http.router.v3.Router', { suppress_envoy_headers: true })),
          fc.constant(encodeAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {})),
        ),
        is_optional: fc.boolean(),
      },
      { requiredKeys: ['name'] },
    );
    const configSource = fc.record(
      { ads: fc.constant({}), self: fc.constant({}), resource_api_version: fc.constantFrom('AUTO', 'V3'), initial_fetch_timeout: fc.constant({ seconds: 1 }) },
      { requiredKeys: [] },
    );
    const hcmArb = fc.record(
      {
        stat_prefix: str,
        rds: fc.record({ route_config_name: str, config_source: configSource }, { requiredKeys: [] }),
        http_filters: fc.array(filter, { maxLength: 2 }),
        generate_request_id: fc.record({ value: fc.boolean() }, { requiredKeys: [] }),
        // Outside the fast path.
        normalize_path: fc.record({ value: fc.boolean() }),
      },
      { requiredKeys: [] },
    );
    const outcomes = new Set<string>();
    fc.assert(fc.property(hcmArb, (h) => void outcomes.add(expectHcmAgreement(encodeAny(HCM, h).value))), { numRuns: 300, seed: 7 });
    expect([...outcomes].sort()).toStrictEqual(['fast', 'general', 'rejected']);
    fc.assert(
      fc.property(hcmArb, fc.nat(), (h, cut) => {
        const value = encodeAny(HCM, h).value;
        expectHcmAgreement(value.subarray(0, value.length === 0 ? 0 : cut % value.length));
      }),
      { numRuns: 300, seed: 11 },
    );
    // Mostly valid client-side HCMs, so that whole listeners take the fast path often.
    const meshHcm = fc.record(
      {
        stat_prefix: str,
        rds: fc.record({ route_config_name: fc.constantFrom('r', 'outbound|9080||reviews', ''), config_source: fc.constantFrom({ ads: {} }, { self: {} }, {}) }),
        http_filters: fc.array(fc.record({ name: fc.constantFrom('envoy.filters.http.router', 'envoy.router'), typed_config: fc.constant({ type_url: ROUTER }), is_optional: fc.boolean() }), { maxLength: 2 }),
        generate_request_id: fc.record({ value: fc.boolean() }, { requiredKeys: [] }),
      },
      { requiredKeys: ['rds'] },
    );
    const listenerArb = fc.record(
      {
        name: str,
        api_listener: fc.oneof(
          meshHcm.map((h) => ({ api_listener: encodeAny(HCM, h) })),
          meshHcm.map((h) => ({ api_listener: encodeAny(HCM, h) })),
          hcmArb.map((h) => ({ api_listener: encodeAny(HCM, h) })),
          fc.constant({}),
          fc.constant({ api_listener: { type_url: ROUTER } }),
        ),
        // Outside the fast path.
        stat_prefix: str,
      },
      { requiredKeys: ['name', 'api_listener'] },
    );
    checkProperty(LISTENER, listenerArb, 300);
  });
});
