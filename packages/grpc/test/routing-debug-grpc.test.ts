import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

// The switch is read once when the xds-client module loads, so it is set before any import runs
// (vi.hoisted) and put back after, for whatever this worker runs next.
const previousDebug = vi.hoisted(() => {
  const previous = process.env['MESHLET_DEBUG'];
  process.env['MESHLET_DEBUG'] = 'routing';
  return previous;
});

import { Mesh, type RoutingDecision } from '@meshlet/core';
import { StaticResourceSource, type Logger } from '@meshlet/xds-client';
import { meshClientOptions } from '@meshlet/grpc';
import { deadPort, startBackend, type GrpcBackend } from './helpers/backends.js';
import { EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';
import { applyMesh, type MeshSpec } from '../../http/test/helpers/meshConfig.js';
import { eventually } from '../../http/test/helpers/harness.js';

/**
 * MESHLET_DEBUG=routing explains gRPC calls through the MeshChannel as it does HTTP calls: one line
 * per call (target, virtual host, route, cluster, final status with the gRPC status, response
 * flags, then each attempt's endpoint, outcome and retry reason), handed to the channel's logger.
 * Real grpc-js backends on 127.0.0.1 and the real CallEngine.
 */
const TARGET = 'echo.test:50051';
let cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});
afterAll(() => {
  if (previousDebug === undefined) delete process.env['MESHLET_DEBUG'];
  else process.env['MESHLET_DEBUG'] = previousDebug;
});

interface Line {
  readonly message: string;
  readonly decision: RoutingDecision;
}

function recordingLogger(): { lines: Line[]; logger: Logger } {
  const lines: Line[] = [];
  const debug = (message: string, fields?: Record<string, unknown>) => void lines.push({ message, decision: fields?.['decision'] as RoutingDecision });
  const unexpected = (message: string) => {
    throw new Error(`routing debug logged above debug level: ${message}`);
  };
  return { lines, logger: { debug, info: unexpected, warn: unexpected, error: unexpected } };
}

async function channelTo(spec: Omit<MeshSpec, 'target'>): Promise<{ client: EchoClient; lines: Line[] }> {
  const source = new StaticResourceSource();
  applyMesh(source, { target: TARGET, ...spec });
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
  const { lines, logger } = recordingLogger();
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), meshClientOptions(mesh, `xds:///${TARGET}`, { logger }));
  cleanups.push(() => {
    client.close();
    mesh.close();
  });
  return { client, lines };
}

async function backend(name: string): Promise<GrpcBackend> {
  const b = await startBackend(name);
  cleanups.push(() => b.close());
  return b;
}

describe('MESHLET_DEBUG=routing for gRPC calls', () => {
  it('explains a retried call in one line: route, cluster, final gRPC status, each attempt with its outcome and retry reason', async () => {
    const b0 = await backend('b0');
    let failuresLeft = 1;
    b0.behave((_call, callback, name) => {
      if (failuresLeft-- > 0) callback({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
      else callback(null, Buffer.from(name));
    });
    const { client, lines } = await channelTo({
      clusters: [{ name: 'c0', ports: [b0.port] }],
      routes: [{ name: 'echo-route', match: { prefix: '/' }, route: { cluster: 'c0', retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } } }],
    });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'b0' });
    // The line is written when the call ends: at the end of the response stream (the OK in trailers).
    await eventually(() => lines.length === 1);
    const endpoint = `127.0.0.1:${b0.port}`;
    expect(lines[0]!.decision).toMatchObject({
      target: TARGET,
      virtual_host: TARGET,
      route: 'echo-route',
      cluster: 'c0',
      status: 200,
      grpc_status: grpc.status.OK,
      flags: [],
      attempts: [
        // A Trailers-Only UNAVAILABLE: HTTP 200 carrying grpc-status 14.
        { n: 1, cluster: 'c0', endpoint, outcome: '200 grpc-status 14', retry: 'unavailable' },
        { n: 2, cluster: 'c0', endpoint, outcome: '200' },
      ],
    });
    expect(lines[0]!.decision.attempts[1]).not.toHaveProperty('retry');
    expect(lines[0]!.message).toMatch(
      new RegExp(`^echo\\.test:50051 vhost=echo\\.test:50051 route=echo-route cluster=c0 -> 200 grpc-status 0 in \\d+ ms; attempt 1 ${endpoint} 200 grpc-status 14 retry=unavailable \\d+ ms; attempt 2 ${endpoint} 200 \\d+ ms$`),
    );
  });

  it('explains a call to an endpoint that refuses connections: the UF flag and the connect failure', async () => {
    const port = await deadPort();
    const { client, lines } = await channelTo({ clusters: [{ name: 'c0', ports: [port] }], routes: [{ name: 'echo-route', match: { prefix: '/' }, route: { cluster: 'c0' } }] });
    expect(await unary(client)).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    await eventually(() => lines.length === 1);
    const d = lines[0]!.decision;
    expect(d).toMatchObject({ route: 'echo-route', cluster: 'c0', attempts: [{ n: 1, endpoint: `127.0.0.1:${port}`, outcome: 'connect-failure' }] });
    expect(d.flags).toContain('UF');
    expect(lines[0]!.message).toMatch(/ flags=[A-Z,]*UF/);
  });

  it('explains a call no route matches: NR, no cluster, no attempt', async () => {
    const b0 = await backend('b0');
    const { client, lines } = await channelTo({
      clusters: [{ name: 'c0', ports: [b0.port] }],
      routes: [{ name: 'other-only', match: { path: '/meshlet.test.Echo/Other' }, route: { cluster: 'c0' } }],
    });
    expect(await unary(client, { method: 'Echo' })).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    await eventually(() => lines.length === 1);
    expect(lines[0]!.decision).toMatchObject({ route: undefined, cluster: undefined, flags: ['NR'], attempts: [] });
    expect(lines[0]!.message).toMatch(/^echo\.test:50051 vhost=\? route=\(none\) cluster=\(none\) -> .*flags=NR in \d+ ms$/);
    expect(b0.seen).toHaveLength(0);
  });
});
