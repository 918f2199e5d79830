import { describe, expect, it } from 'vitest';
import type { Logger } from '@meshlet/xds-client';
import { CallEngine } from '../../src/call/CallEngine.js';
import type { CallObserver } from '../../src/call/CallObserver.js';
import type { Mesh } from '../../src/mesh/Mesh.js';
import { formatRoutingDecision, routingDebugObserver, RoutingDebugObserver, type RoutingDecision } from '../../src/telemetry/RoutingDebugObserver.js';
import { CLUSTER, FakeTransport, request, routeConfig, snapshot, type Step } from './engineHarness.js';

function recordingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, ...(fields ? { fields } : {}) });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, logger };
}

/** Runs one call through the real CallEngine with the observer attached. */
async function run(observer: CallObserver, steps: Step[], retryOn?: string, snap = snapshot(routeConfig(retryOn))) {
  const engine = new CallEngine({ kind: 'http', observer, random: () => 0.5 });
  await engine.execute(snap, request(), new FakeTransport(steps)).catch(() => undefined);
  return snap;
}

describe('RoutingDebugObserver (MESHLET_DEBUG=routing)', () => {
  it('explains a retried call in one line: target, vhost, route, cluster, each endpoint, outcome and retry reason', async () => {
    const { lines, logger } = recordingLogger();
    const snap = snapshot(routeConfig('5xx'));
    const mesh = { state: () => ({ kind: 'ready' as const, snapshot: snap }) } as unknown as Pick<Mesh, 'state'>;
    await run(new RoutingDebugObserver({ logger, mesh }), [503, 200], '5xx', snap);
    expect(lines).toHaveLength(1);
    const decision = lines[0]!.fields!['decision'] as RoutingDecision;
    expect(decision).toMatchObject({
      target: 'reviews.default.svc.cluster.local:9080',
      virtual_host: 'vh',
      route: 'reviews-route',
      cluster: CLUSTER,
      status: 200,
      flags: [],
      attempts: [
        { n: 1, cluster: CLUSTER, endpoint: '10.0.0.1:9080', outcome: '503', retry: '5xx' },
        { n: 2, cluster: CLUSTER, endpoint: '10.0.0.2:9080', outcome: '200' },
      ],
    });
    expect(decision.attempts[1]).not.toHaveProperty('retry');
    expect(lines[0]!.message).toMatch(
      /^reviews\.default\.svc\.cluster\.local:9080 vhost=vh route=reviews-route cluster=outbound\|9080\|v1\|reviews\.default\.svc\.cluster\.local -> 200 in \d+ ms; attempt 1 10\.0\.0\.1:9080 503 retry=5xx \d+ ms; attempt 2 10\.0\.0\.2:9080 200 \d+ ms$/,
    );
  });

  it('shows a failure that was not retried (no policy) with its response flag', async () => {
    const { lines, logger } = recordingLogger();
    await run(new RoutingDebugObserver({ logger }), ['connect-failure']);
    const d = lines[0]!.fields!['decision'] as RoutingDecision;
    expect(d.attempts).toEqual([expect.objectContaining({ endpoint: '10.0.0.1:9080', outcome: 'connect-failure' })]);
    expect(d.attempts[0]).not.toHaveProperty('retry');
    expect(d.flags).toContain('UF');
    expect(lines[0]!.message).toContain('vhost=?'); // no mesh given: the virtual host is not guessed
    expect(lines[0]!.message).toMatch(/-> 503 flags=UF/);
  });

  it('formats gRPC outcomes, a retry exhausted and a call without a route', () => {
    const base: RoutingDecision = { target: 'echo:50051', virtual_host: 'echo', route: 'r', cluster: 'c', status: 200, flags: ['URX'], ms: 7, attempts: [] };
    expect(
      formatRoutingDecision({
        ...base,
        attempts: [
          { n: 1, cluster: 'c', endpoint: '[::1]:50051', outcome: '200 grpc-status 14', retry: 'unavailable', ms: 3 },
          { n: 2, cluster: 'c2', endpoint: '10.0.0.9:50051', outcome: 'per-try-timeout', ms: 4 },
        ],
      }),
    ).toBe('echo:50051 vhost=echo route=r cluster=c -> 200 flags=URX in 7 ms; attempt 1 [::1]:50051 200 grpc-status 14 retry=unavailable 3 ms; attempt 2 10.0.0.9:50051 (c2) per-try-timeout 4 ms');
    expect(formatRoutingDecision({ ...base, virtual_host: undefined, route: undefined, cluster: undefined, status: 404, flags: ['NR'] })).toBe(
      'echo:50051 vhost=? route=(none) cluster=(none) -> 404 flags=NR in 7 ms',
    );
    expect(formatRoutingDecision({ ...base, status: undefined, flags: [] })).toContain('-> no response in 7 ms');
    expect(formatRoutingDecision({ ...base, grpc_status: 14, flags: ['URX'] })).toBe('echo:50051 vhost=echo route=r cluster=c -> 200 grpc-status 14 flags=URX in 7 ms');
  });

  it('is off unless MESHLET_DEBUG names routing (the test run does not set it)', () => {
    expect(process.env['MESHLET_DEBUG'] ?? '').not.toMatch(/routing|all/);
    expect(routingDebugObserver()).toBeUndefined();
  });
});
