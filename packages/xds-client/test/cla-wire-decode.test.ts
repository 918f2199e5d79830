import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeAny } from '../src/proto/EnvoyProtos.js';
import { ClusterLoadAssignmentResource } from '../src/resources/endpoint/ClusterLoadAssignmentResource.js';
import { decodeClusterLoadAssignmentWire } from '../src/resources/endpoint/ClusterLoadAssignmentWire.js';
import { endpointsBuilt } from '../src/resources/endpoint/DeferredEndpoints.js';
import { FREEZE_MODELS } from '../src/resources/DeepFreeze.js';
import { containsInlinePrivateKey } from '../src/client/LastKnownGoodStore.js';
import { wireAgreement } from './helpers/wireAgreement.js';

const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

const { general, expectAgreement, expectRejected, checkProperty } = wireAgreement(ClusterLoadAssignmentResource, decodeClusterLoadAssignmentWire);

const endpoint = (address: string, port: number, extra: Record<string, unknown> = {}) => ({ endpoint: { address: { socket_address: { address, port_value: port } } }, ...extra });

describe('ClusterLoadAssignment one-pass wire decode', () => {
  it('decodes the common shape (as the config-scale push sends it) to the same model as the general path', () => {
    const any = encodeAny(CLA, {
      cluster_name: 'outbound|80||svc1.bench.svc.cluster.local',
      endpoints: [{ locality: { region: 'r', zone: 'z' }, lb_endpoints: Array.from({ length: 10 }, (_, j) => endpoint(`127.0.1.${j + 1}`, 9)) }],
    });
    expect(expectAgreement(any)).toBe('fast');
    const cla = decodeClusterLoadAssignmentWire(any.value)!;
    expect(cla.endpoints[0]!.lb_endpoints[3]!.address).toStrictEqual({ address: '127.0.1.4', port_value: 9 });
    expect(cla.policy).toStrictEqual({ drop_overloads: [] });
  });

  it('checks every endpoint at decode but builds them at the first read, once, as the same model', () => {
    const message = {
      cluster_name: 'c',
      endpoints: [{ locality: { region: 'r' }, lb_endpoints: [endpoint('10.0.0.1', 80), endpoint('10.0.0.2', 81, { health_status: 'DRAINING' })] }],
      policy: { overprovisioning_factor: { value: 150 } },
    };
    const any = encodeAny(CLA, message);
    const cla = ClusterLoadAssignmentResource.decode(any).resource;
    expect(endpointsBuilt(cla)).toBe(false);
    expect(Object.keys(cla)).toStrictEqual(['cluster_name', 'endpoints', 'policy']);
    expect(cla.policy.overprovisioning_factor).toBe(150);
    expect(endpointsBuilt(cla)).toBe(false);
    const endpoints = cla.endpoints;
    expect(endpointsBuilt(cla)).toBe(true);
    expect(cla.endpoints).toBe(endpoints);
    expect(endpoints[0]!.lb_endpoints.map((e) => [e.address.address, e.address.port_value, e.health_status])).toStrictEqual([
      ['10.0.0.1', 80, 'UNKNOWN'],
      ['10.0.0.2', 81, 'DRAINING'],
    ]);
    // Spread and JSON see a plain model, as for the general path's.
    const built = general(any) as { ok: true; resource: object };
    expect({ ...cla }).toStrictEqual(built.resource);
    expect(JSON.stringify(cla)).toBe(JSON.stringify(built.resource));
    if (FREEZE_MODELS) {
      expect(Object.isFrozen(cla)).toBe(true);
      expect(() => {
        (cla as { endpoints: unknown }).endpoints = [];
      }).toThrow(TypeError);
      expect(cla.endpoints).toBe(endpoints);
    }
    // The last-known-good store's secret scan has nothing to find in it and builds nothing.
    const unread = ClusterLoadAssignmentResource.decode(any).resource;
    expect(containsInlinePrivateKey(unread)).toBe(false);
    expect(endpointsBuilt(unread)).toBe(false);
    // A bad endpoint anywhere is still a rejection at decode, not at the read.
    const bad = encodeAny(CLA, { ...message, endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 80), endpoint('10.0.0.2', 70000)] }] });
    expect(decodeClusterLoadAssignmentWire(bad.value)).toBeUndefined();
    expect(() => ClusterLoadAssignmentResource.decode(bad)).toThrow(/port must be at most 65535/);
  });

  it('equal: the same bytes are equal without building; other bytes compare as models', () => {
    const message = { cluster_name: 'c', endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 80)] }] };
    const a = ClusterLoadAssignmentResource.decode(encodeAny(CLA, message)).resource;
    const b = ClusterLoadAssignmentResource.decode(encodeAny(CLA, message)).resource;
    expect(ClusterLoadAssignmentResource.equal(a, b)).toBe(true);
    expect(endpointsBuilt(a) || endpointsBuilt(b)).toBe(false);
    const moved = ClusterLoadAssignmentResource.decode(encodeAny(CLA, { ...message, endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 81)] }] })).resource;
    expect(ClusterLoadAssignmentResource.equal(a, moved)).toBe(false);
    // The same model from other bytes (an empty locality written out): equal, by building both.
    const spelledOutAny = encodeAny(CLA, { ...message, endpoints: [{ locality: {}, lb_endpoints: [endpoint('10.0.0.1', 80)] }] });
    expect(spelledOutAny.value.length).toBeGreaterThan(encodeAny(CLA, message).value.length);
    const spelledOut = ClusterLoadAssignmentResource.decode(spelledOutAny).resource;
    expect(ClusterLoadAssignmentResource.equal(a, spelledOut)).toBe(true);
    // Against a model built by the general path.
    const generalModel = (general(encodeAny(CLA, message)) as { ok: true; resource: typeof a }).resource;
    expect(ClusterLoadAssignmentResource.equal(b, generalModel)).toBe(true);
  });

  it('takes priorities, locality weights, endpoint weights, health, UDP, the overprovisioning factor and non-ASCII names', () => {
    const any = encodeAny(CLA, {
      cluster_name: 'cl-ü',
      endpoints: [
        { locality: { region: 'eu', zone: 'zü', sub_zone: 's' }, load_balancing_weight: { value: 3 }, lb_endpoints: [endpoint('10.0.0.1', 80, { health_status: 'DEGRADED', load_balancing_weight: { value: 5 } })] },
        { priority: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'fd00::1', port_value: 53, protocol: 'UDP' } } } }] },
      ],
      policy: { overprovisioning_factor: { value: 200 } },
    });
    expect(expectAgreement(any)).toBe('fast');
    expect(decodeClusterLoadAssignmentWire(any.value)!.policy.overprovisioning_factor).toBe(200);
  });

  it('leaves everything outside the common shape to the general path (same model)', () => {
    const outside = [
      { lb_endpoints: [endpoint('10.0.0.1', 80, { metadata: { filter_metadata: { 'envoy.lb': { fields: { hash_key: { string_value: 'k' } } } } } })] },
      { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } }, hostname: 'h.example' } }] },
      { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } }, additional_addresses: [{ address: { socket_address: { address: '10.0.0.2', port_value: 80 } } }] } }] },
    ];
    for (const e of outside) expect(expectAgreement(encodeAny(CLA, { cluster_name: 'c', endpoints: [e] }))).toBe('general');
    const drops = encodeAny(CLA, { cluster_name: 'c', policy: { drop_overloads: [{ category: 'lb', drop_percentage: { numerator: 5 } }] } });
    expect(expectAgreement(drops)).toBe('general');
  });

  it('rejects nothing itself: invalid input gets the general path and its error message', () => {
    const invalid = [
      { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: {} }] }] },
      { cluster_name: 'c', endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 70000)] }] },
      { cluster_name: 'c', endpoints: [{ lb_endpoints: [endpoint('', 80)] }] },
      { cluster_name: 'c', endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 80, { load_balancing_weight: { value: 0 } })] }] },
      { cluster_name: 'c', endpoints: [{ priority: 1, lb_endpoints: [endpoint('10.0.0.1', 80)] }] },
      { cluster_name: 'c', endpoints: [{ locality: { zone: 'a' } }, { locality: { zone: 'a' } }] },
      { cluster_name: '', endpoints: [] },
    ];
    expectRejected(CLA, invalid);
    const bad = general(encodeAny(CLA, invalid[1]!));
    expect(bad).toMatchObject({ ok: false, message: expect.stringContaining('port must be at most 65535') });
  });

  it('property: for generated CLAs and every truncation of one, fast and general paths agree (200 + 200 runs)', () => {
    const str = fc.oneof(fc.constantFrom('', 'a', 'zone-1', 'ü'), fc.string({ maxLength: 6 }));
    const lbe = fc.record(
      {
        endpoint: fc.record({ address: fc.record({ socket_address: fc.record({ address: fc.constantFrom('10.0.0.1', '', 'fd00::2', 'host'), port_value: fc.constantFrom(0, 80, 65535, 65536), protocol: fc.constantFrom('TCP', 'UDP') }, { requiredKeys: ['address'] }) }) }, { requiredKeys: [] }),
        health_status: fc.constantFrom('UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'),
        load_balancing_weight: fc.record({ value: fc.constantFrom(0, 1, 7) }, { requiredKeys: [] }),
        metadata: fc.constant({ filter_metadata: { ns: { fields: { k: { bool_value: true } } } } }),
      },
      { requiredKeys: ['endpoint'] },
    );
    const lle = fc.record(
      {
        locality: fc.record({ region: str, zone: str, sub_zone: str }, { requiredKeys: [] }),
        lb_endpoints: fc.array(lbe, { maxLength: 4 }),
        load_balancing_weight: fc.record({ value: fc.constantFrom(0, 2) }, { requiredKeys: [] }),
        priority: fc.constantFrom(0, 0, 1, 2),
      },
      { requiredKeys: [] },
    );
    const cla = fc.record(
      {
        cluster_name: fc.constantFrom('c', 'outbound|80||a.b', ''),
        endpoints: fc.array(lle, { maxLength: 3 }),
        policy: fc.record({ overprovisioning_factor: fc.record({ value: fc.constantFrom(0, 140, 300) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
      },
      { requiredKeys: ['cluster_name'] },
    );
    checkProperty(CLA, cla, 200);
  });
});
