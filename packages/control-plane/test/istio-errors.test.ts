import { describe, expect, it } from 'vitest';
import { MeshConfigError, translateMesh, validateMesh, type MeshConfigDiagnostic } from '../src/istio/index.js';

const SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews}
spec:
  hosts: [reviews.demo.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
    - {address: 127.0.0.1, labels: {version: v1}}
`; // 9 lines

/** The diagnostics translateMesh throws (and fails the test if it does not). */
function errorsOf(yaml: string): MeshConfigDiagnostic[] {
  try {
    translateMesh(yaml, { file: 'mesh.yaml' });
  } catch (e) {
    expect(e).toBeInstanceOf(MeshConfigError);
    return (e as MeshConfigError).diagnostics.filter((d) => d.severity === 'error');
  }
  throw new Error('expected translateMesh to throw');
}

describe('translateMesh errors name file, line, column and field', () => {
  it('reports a subset no DestinationRule defines', () => {
    const errs = errorsOf(`${SE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.demo.local]
  http:
    - route:
        - destination: {host: reviews.demo.local, subset: v3}
`);
    expect(errs).toEqual([
      {
        file: 'mesh.yaml',
        line: 18,
        column: 59,
        path: 'VirtualService reviews: spec.http[0].route[0].destination.subset',
        message: 'subset "v3" is not defined for host reviews.demo.local; add a DestinationRule for reviews.demo.local with subset v3',
        severity: 'error',
      },
    ]);
  });

  it('reports a destination host with no ServiceEntry, with a suggestion', () => {
    const errs = errorsOf(`${SE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.demo.local]
  http:
    - route:
        - destination:
            host: reviews.demo
`);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ line: 19, column: 19, path: 'VirtualService reviews: spec.http[0].route[0].destination.host' });
    expect(errs[0]!.message).toBe('no ServiceEntry defines host "reviews.demo"; did you mean "reviews.demo.local"?');
  });

  it('reports unknown fields at the key with a did-you-mean', () => {
    const errs = errorsOf(`${SE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.demo.local]
  http:
    - route: [{destination: {host: reviews.demo.local}}]
      retries: {attempts: 2, retryon: 5xx}
`);
    expect(errs).toEqual([
      expect.objectContaining({ line: 18, column: 30, path: 'VirtualService reviews: spec.http[0].retries.retryon', message: 'unknown field "retryon"; did you mean "retryOn"?' }),
    ]);
  });

  it('refuses mirror as unsupported', () => {
    const errs = errorsOf(`${SE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.demo.local]
  http:
    - route: [{destination: {host: reviews.demo.local}}]
      mirror: {host: reviews.demo.local}
`);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ line: 18, column: 7, path: 'VirtualService reviews: spec.http[0].mirror' });
    expect(errs[0]!.message).toMatch(/^not supported by Meshlet: traffic mirroring/);
  });

  it('reports bad values: weight type, duration syntax, enum', () => {
    const errs = errorsOf(`${SE}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.demo.local
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBINN}
    outlierDetection: {interval: 10 seconds}
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.demo.local]
  http:
    - route:
        - destination: {host: reviews.demo.local, subset: v1}
          weight: lots
`);
    expect(errs.map((e) => [e.line, e.column, e.path, e.message])).toEqual([
      [17, 28, 'DestinationRule reviews: spec.trafficPolicy.loadBalancer.simple', '"ROUND_ROBINN" is not one of UNSPECIFIED, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN, RANDOM, PASSTHROUGH; did you mean "ROUND_ROBIN"?'],
      [18, 34, 'DestinationRule reviews: spec.trafficPolicy.outlierDetection.interval', '"10 seconds" is not a duration; write a number with a unit, e.g. 500ms, 1s, 1.5s, 2m'],
      [29, 19, 'VirtualService reviews: spec.http[0].route[0].weight', 'expected a number, got "lots"'],
    ]);
  });

  it('reports missing required fields at the parent', () => {
    const errs = errorsOf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: x}
spec:
  hosts: [x.local]
  resolution: STATIC
`);
    expect(errs).toEqual([expect.objectContaining({ line: 5, column: 3, path: 'ServiceEntry x: spec.ports', message: expect.stringMatching(/^ports is required/) })]);
  });

  it('reports YAML syntax errors with their position', () => {
    const errs = errorsOf(`${SE}---
kind: VirtualService
spec: {hosts: [a
`);
    expect(errs[0]).toMatchObject({ file: 'mesh.yaml', line: expect.any(Number), path: '' });
    expect(errs[0]!.line).toBeGreaterThanOrEqual(11);
    expect(errs[0]!.message).toMatch(/^YAML syntax:/);
  });

  it('rejects non-STATIC resolution and non-IP endpoints with a fix', () => {
    const errs = errorsOf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: x}
spec:
  hosts: [x.local]
  ports: [{number: 80, name: http}]
  resolution: DNS
  endpoints: [{address: x.example.com}]
`);
    expect(errs.map((e) => [e.line, e.path, e.message])).toEqual([
      [7, 'ServiceEntry x: spec.resolution', 'resolution DNS is not supported without a control plane; use resolution: STATIC with IP endpoints'],
      [8, 'ServiceEntry x: spec.endpoints[0].address', '"x.example.com" is not an IP address; resolution: STATIC needs IP endpoints'],
    ]);
  });

  it('reports duplicate hosts across resources', () => {
    const errs = errorsOf(`${SE}---
${SE.replace('name: reviews', 'name: reviews-2')}`);
    expect(errs).toEqual([
      expect.objectContaining({ line: 15, path: 'ServiceEntry reviews-2: spec.hosts[0]', message: 'host reviews.demo.local is already defined by ServiceEntry reviews (mesh.yaml, line 1); merge the two ServiceEntries' }),
    ]);
  });

  it('rejects unsupported TLS modes and removed fields', () => {
    const errs = errorsOf(`${SE}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.demo.local
  trafficPolicy:
    tls: {mode: SIMPLE}
    outlierDetection: {consecutiveErrors: 5}
`);
    expect(errs.map((e) => e.path)).toEqual(['DestinationRule reviews: spec.trafficPolicy.tls.mode', 'DestinationRule reviews: spec.trafficPolicy.outlierDetection.consecutiveErrors']);
  });

  it('the thrown message lists every error as file:line:column', () => {
    expect(() => translateMesh('apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: [x.local], resolution: STATIC, ports: [{number: 0}]}\n', { file: 'm.yaml' })).toThrow(
      /m\.yaml:4:\d+: error: ServiceEntry x: spec\.ports\[0\]\.number: must be at least 1, got 0/,
    );
  });
});

describe('validateMesh (istioctl analyze style)', () => {
  it('returns nothing for the canary example', async () => {
    const { readFileSync } = await import('node:fs');
    expect(validateMesh(readFileSync(new URL('../../../examples/canary/mesh.yaml', import.meta.url), 'utf8'))).toEqual([]);
  });

  it('warns when weights do not add up to 100, and errors when they add up to 0', () => {
    const base = `${SE}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.demo.local
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.demo.local]
  http:
    - route:
        - {destination: {host: reviews.demo.local, subset: v1}, weight: W1}
        - {destination: {host: reviews.demo.local, subset: v2}, weight: W2}
`;
    const d = validateMesh(base.replace('W1', '60').replace('W2', '30'));
    expect(d).toContainEqual(expect.objectContaining({ severity: 'warning', line: 25, column: 9, path: 'VirtualService reviews: spec.http[0].route', message: 'the destination weights add up to 90, not 100; traffic is split in proportion to the weights' }));
    // And v2 selects no endpoint (only a v1 endpoint exists).
    expect(d).toContainEqual(expect.objectContaining({ severity: 'warning', path: 'DestinationRule reviews: spec.subsets[1].labels', message: expect.stringContaining('selects no endpoint') }));
    const z = validateMesh(base.replace('W1', '0').replace('W2', '0'));
    expect(z).toContainEqual(expect.objectContaining({ severity: 'error', message: expect.stringContaining('add up to 0') }));
  });

  it('reports a VirtualService or DestinationRule for an unknown host, and ignores other kinds with a warning', () => {
    const d = validateMesh(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ghost}
spec: {host: ghost.local}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {}
`);
    expect(d.map((x) => [x.severity, x.line, x.path])).toEqual([
      ['error', 4, 'DestinationRule ghost: spec.host'],
      ['warning', 7, 'Gateway gw: kind'],
    ]);
  });

  it('reports wrong apiVersion and missing names', () => {
    const d = validateMesh(`apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: {name: a}
spec: {}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {}
spec: {}
`);
    expect(d.map((x) => [x.line, x.path, x.message])).toEqual([
      [1, 'VirtualService a: apiVersion', 'expected networking.istio.io/v1 (or v1beta1, v1alpha3) for VirtualService, got "networking.istio.io/v2"'],
      [8, 'VirtualService (unnamed): metadata.name', 'name is required'],
    ]);
  });
});
