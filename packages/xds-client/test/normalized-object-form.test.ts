import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allFixtureResources } from './helpers/fixture-extract.js';
import { codeGeneratedWhile } from './helpers/generated-code.js';
import { envoyRoot, TO_OBJECT } from '../src/proto/EnvoyProtos.js';
import { normalizedObjectForm } from '../src/proto/NormalizedObjectForm.js';
import { fromProto3Json, objectFormOfProto3Json } from '../src/proto/ProtoJson.js';

// fromProto3Json normalizes the converter's object form by reflection (NormalizedObjectForm.ts)
// instead of protobufjs's toObject(fromObject(...), TO_OBJECT). These tests check the two agree,
// key order included (JSON text), on every real control-plane resource and on generated and
// hand-made inputs that reach each rule (enums by number, 64-bit canonical strings, coercions).

const CLUSTER = 'envoy.config.cluster.v3.Cluster';

function protobufjsRoundTrip(name: string, form: Record<string, unknown>): unknown {
  const type = envoyRoot().lookupType(name);
  return type.toObject(type.fromObject(form), TO_OBJECT);
}

function expectSameAsProtobufjs(name: string, form: Record<string, unknown>): void {
  const ours = normalizedObjectForm(envoyRoot().lookupType(name), form);
  const theirs = protobufjsRoundTrip(name, form);
  expect(ours).toStrictEqual(theirs);
  expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
}

describe('normalizedObjectForm', () => {
  // First: the round trips below set the same types up through protobufjs, which generates their codecs.
  it('fromProto3Json of a resource with no Any generates no protobufjs codec', () => {
    // The first root runs the protobufjs internals check, whose probe types round-trip through every codec.
    envoyRoot();
    const generated = codeGeneratedWhile(() => {
      const o = fromProto3Json(CLUSTER, { name: 'fresh', type: 'EDS', lbPolicy: 'LEAST_REQUEST', leastRequestLbConfig: { choiceCount: 3 }, circuitBreakers: { thresholds: [{ maxRequests: 7 }] } });
      expect(o['least_request_lb_config']).toEqual({ choice_count: { value: 3 } });
    });
    // Resolving a type's fields makes its (small) constructor, as protobufjs does; codecs are named Type$codec.
    expect(generated.length).toBeGreaterThan(0);
    expect(generated.filter((name) => name.includes('$'))).toEqual([]);
  });

  it('equals protobufjs toObject(fromObject()) on every real control-plane resource', () => {
    let compared = 0;
    for (const r of allFixtureResources()) {
      const name = r.typeUrl.slice(r.typeUrl.lastIndexOf('/') + 1);
      let form: Record<string, unknown>;
      try {
        form = objectFormOfProto3Json(name, r.json, { ignoreUnknownFields: true });
      } catch {
        continue; // rejected by the converter: nothing to normalize
      }
      expectSameAsProtobufjs(name, form);
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('equals protobufjs on the cases each rule handles', () => {
    const form = objectFormOfProto3Json(CLUSTER, {
      name: 'c',
      type: 3, // enum by number
      lbPolicy: 'RING_HASH',
      dnsLookupFamily: 0, // a zero value set explicitly is kept
      perConnectionBufferLimitBytes: { value: 0 },
      ringHashLbConfig: { minimumRingSize: '007', maximumRingSize: '18446744073709551615' }, // uint64
      connectTimeout: '-0.5s',
      commonLbConfig: { healthyPanicThreshold: { value: 12.5 } },
      metadata: { filterMetadata: { a: { n: 1, s: 'x', l: [true, null, { k: 'v' }] }, b: {} } },
      typedExtensionProtocolOptions: {},
      altStatName: '',
      respectDnsTtl: false,
      outlierDetection: { consecutive5xx: 0, interval: '1s' },
    });
    expectSameAsProtobufjs(CLUSTER, form);
    // Forms the converter does not build, which the rules still follow as protobufjs does.
    expectSameAsProtobufjs(CLUSTER, { name: 'c', type: 99, lb_policy: 'NO_SUCH_POLICY', per_connection_buffer_limit_bytes: { value: -0 } });
    expectSameAsProtobufjs('envoy.config.route.v3.RouteAction', { cluster: 'x', timeout: { seconds: 5, nanos: 1.7 }, retry_policy: { retry_on: 'reset', num_retries: { value: 2 } } });
  });

  it('property: generated Clusters normalize as protobufjs does', () => {
    const lbPolicies = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED'];
    const cluster = fc.record(
      {
        name: fc.string({ maxLength: 8 }),
        type: fc.oneof(fc.constantFrom('STATIC', 'EDS', 'STRICT_DNS'), fc.integer({ min: 0, max: 6 })),
        lbPolicy: fc.oneof(fc.constantFrom(...lbPolicies), fc.integer({ min: 0, max: 9 })),
        connectTimeout: fc.integer({ min: 0, max: 10_000 }).map((ms) => `${ms / 1000}s`),
        perConnectionBufferLimitBytes: fc.nat(),
        ringHashLbConfig: fc.record(
          { minimumRingSize: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), maximumRingSize: fc.nat().map(String) },
          { requiredKeys: [] },
        ),
        metadata: fc.record({ filterMetadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()))) }),
        commonLbConfig: fc.record({ healthyPanicThreshold: fc.record({ value: fc.double({ min: 0, max: 100, noNaN: true }) }) }),
        outlierDetection: fc.record({ consecutive5xx: fc.nat(), maxEjectionPercent: fc.integer({ min: 0, max: 100 }) }, { requiredKeys: [] }),
        respectDnsTtl: fc.boolean(),
      },
      { requiredKeys: ['name'] },
    );
    fc.assert(
      fc.property(cluster, (json) => {
        expectSameAsProtobufjs(CLUSTER, objectFormOfProto3Json(CLUSTER, json));
      }),
      { numRuns: 300 },
    );
  });
});
