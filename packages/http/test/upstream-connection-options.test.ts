import { describe, expect, it } from 'vitest';
import { applyMesh } from './helpers/meshConfig.js';
import { meshHarness } from './helpers/harness.js';

/**
 * A cluster's common_http_protocol_options, as istiod writes DestinationRule connectionPool.http
 * maxRequestsPerConnection and idleTimeout, shape the upstream connections: real loopback server,
 * connections told apart by their client port.
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness();
const HPO = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function protocolOptions(common: Record<string, unknown>): Record<string, unknown> {
  return { typed_extension_protocol_options: { [HPO]: { '@type': `type.googleapis.com/${HPO}`, explicit_http_config: { http_protocol_options: {} }, common_http_protocol_options: common } } };
}

async function connectionsOf(common: Record<string, unknown> | undefined, pauseMs = 0): Promise<number[]> {
  const { backends, source, dispatcher } = await setup(1);
  const ports: number[] = [];
  backends[0]!.behave((req, res) => {
    ports.push(req.socket.remotePort!);
    res.writeHead(200).end('ok');
  });
  applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [backends[0]!.port], ...(common ? { cluster: protocolOptions(common) } : {}) }] });
  for (let i = 0; i < 4; i++) {
    expect((await get(dispatcher)).status).toBe(200);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
  return ports;
}

describe('upstream connection options from the cluster', () => {
  it('without them, sequential requests reuse keep-alive connections', async () => {
    // A second connection may open while the first is still finishing its response; never one per request.
    expect(new Set(await connectionsOf(undefined)).size).toBeLessThanOrEqual(2);
  });

  it('max_requests_per_connection: 1 (Istio maxRequestsPerConnection: 1) opens a connection per request', async () => {
    expect(new Set(await connectionsOf({ max_requests_per_connection: 1 })).size).toBe(4);
  });

  it('max_requests_per_connection: 2 closes each connection after its second request', async () => {
    // Paced so that each request finds the previous one's connection idle (and not yet closed by the limit).
    const ports = await connectionsOf({ max_requests_per_connection: 2 }, 20);
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).toBe(ports[3]);
    expect(ports[1]).not.toBe(ports[2]);
  });

  it('idle_timeout closes a connection idle for longer: 100 ms idle against a 150 ms pause between requests', async () => {
    expect(new Set(await connectionsOf({ idle_timeout: '0.1s' }, 150)).size).toBe(4);
    // The same pause with the default keep-alive keeps the connection.
    expect(new Set(await connectionsOf(undefined, 150)).size).toBe(1);
  });
});
