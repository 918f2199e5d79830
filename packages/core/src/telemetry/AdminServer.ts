import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { XdsClient } from '@meshlet/xds-client';
import type { Mesh } from '../mesh/Mesh.js';
import { meshDebugSnapshot } from './MeshDebugSnapshot.js';

export interface AdminServerOptions {
  readonly mesh: Mesh;
  readonly xdsClient?: Pick<XdsClient, 'configDump'>;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /**
   * Default 127.0.0.1: the snapshot shows topology and config, so it stays on loopback unless
   * the app deliberately binds it elsewhere (as Envoy's admin port should).
   */
  readonly host?: string;
}

export interface AdminServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export const DEBUG_PATH = '/debug/meshlet';

/** Serves meshDebugSnapshot as JSON at GET /debug/meshlet; everything else is 404. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== DEBUG_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(meshDebugSnapshot(options.mesh, options.xdsClient), null, 2);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`meshlet: snapshot failed: ${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    host,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
