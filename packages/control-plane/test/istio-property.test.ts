import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MeshConfigError, translateMesh, validateMesh } from '../src/istio/index.js';

const canary = readFileSync(new URL('../../../examples/canary/mesh.yaml', import.meta.url), 'utf8');
const bookinfo = readFileSync(new URL('./fixtures/mesh/bookinfo.yaml', import.meta.url), 'utf8');

/** translateMesh either succeeds or throws MeshConfigError whose diagnostics point inside the text. */
function expectOnlyMeshConfigError(text: string, alsoValidate = true): void {
  const lines = text.split('\n').length + 1;
  try {
    translateMesh(text);
  } catch (e) {
    if (!(e instanceof MeshConfigError)) throw e;
    expect(e.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    for (const d of e.diagnostics) {
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.line).toBeLessThanOrEqual(lines);
      expect(d.column).toBeGreaterThanOrEqual(1);
      expect(d.message.length).toBeGreaterThan(0);
    }
  }
  // validateMesh never throws.
  if (alsoValidate) expect(Array.isArray(validateMesh(text))).toBe(true);
}

/** Istio-flavoured keys so random documents reach deep into the translators. */
const KEYS = [
  'apiVersion', 'kind', 'metadata', 'name', 'spec', 'hosts', 'host', 'ports', 'number', 'protocol', 'resolution', 'endpoints',
  'address', 'labels', 'weight', 'locality', 'subsets', 'trafficPolicy', 'loadBalancer', 'simple', 'consistentHash',
  'connectionPool', 'outlierDetection', 'http', 'route', 'destination', 'subset', 'match', 'uri', 'prefix', 'exact',
  'regex', 'headers', 'retries', 'attempts', 'retryOn', 'perTryTimeout', 'timeout', 'fault', 'delay', 'abort',
  'percentage', 'value', 'rewrite', 'redirect', 'directResponse', 'status', 'body', 'mirror', 'tls', 'mode', 'x',
];
const scalar = fc.oneof(
  fc.constantFrom('networking.istio.io/v1', 'ServiceEntry', 'DestinationRule', 'VirtualService', 'STATIC', 'HTTP', 'a.local', '127.0.0.1', 'v1', '1s', '5xx', '/', 'ISTIO_MUTUAL', 'x|y', ''),
  fc.string(),
  fc.integer({ min: -5, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 4 }),
  ),
})).v;

const resource = fc.record({
  apiVersion: fc.constantFrom('networking.istio.io/v1', 'networking.istio.io/v1beta1', 'v1', 'bogus'),
  kind: fc.constantFrom('ServiceEntry', 'DestinationRule', 'VirtualService', 'Gateway', 'List'),
  metadata: fc.oneof(fc.record({ name: fc.constantFrom('a', 'b') }), value),
  spec: value,
});

describe('translateMesh never throws anything but MeshConfigError', () => {
  it('for arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => expectOnlyMeshConfigError(text)), { numRuns: 300, seed: 42 });
  });

  it('for random Istio-shaped documents', () => {
    fc.assert(
      fc.property(fc.array(resource, { minLength: 1, maxLength: 3 }), (docs) => {
        expectOnlyMeshConfigError(docs.map((d) => stringify(d)).join('---\n'));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('for the fixtures with one line deleted or one character changed', () => {
    const texts = [canary, bookinfo];
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), fc.constantFrom(':', '-', ' ', '{', '"', 'x', '0', '\n', '&a', '*a'), (which, lineSeed, colSeed, ch) => {
        const text = texts[which % texts.length]!;
        const lines = text.split('\n');
        const i = lineSeed % lines.length;
        if (colSeed % 3 === 0) lines.splice(i, 1);
        else {
          const l = lines[i]!;
          const c = colSeed % (l.length + 1);
          lines[i] = l.slice(0, c) + ch + l.slice(c + 1);
        }
        expectOnlyMeshConfigError(lines.join('\n'), false);
      }),
      { numRuns: 80, seed: 11 },
    );
  });

  it('translation is deterministic', () => {
    expect(JSON.stringify(translateMesh(bookinfo))).toBe(JSON.stringify(translateMesh(bookinfo)));
  });
});
