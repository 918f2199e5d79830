import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevCertificateAuthority } from '../../core/src/identity/index.js';
import { translateMesh } from '../src/istio/index.js';
import type { ProxyConfigView } from '../src/proxyconfig/index.js';
import { AdsServer } from '../src/server/index.js';
import { ensureBuiltCli, runCli } from './helpers/builtCli.js';

/**
 * proxy-config as a pod would run it against istiod's 15012 port: TLS with the mesh root and
 * the service-account JWT as a call credential (gRFC A97), no istio-agent in between.
 */
const MESH = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings.shop.local]
  location: MESH_INTERNAL
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: 18080 } }]
`;

const dir = mkdtempSync(join(tmpdir(), 'meshlet-proxy-config-secure-'));
const ca = DevCertificateAuthority.create();
const serving = ca.issue({ subjectAltNames: [{ type: 'DNS', value: 'localhost' }] });
const jwtPart = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const token = `${jwtPart({ alg: 'RS256' })}.${jwtPart({ aud: ['istio-ca'], exp: Math.floor(Date.now() / 1000) + 3600 })}.c2ln`;
writeFileSync(join(dir, 'root-cert.pem'), ca.certificatePem);
writeFileSync(join(dir, 'istio-token'), token);

let server: AdsServer;
const authorizations: string[] = [];
let port = 0;
beforeAll(async () => {
  ensureBuiltCli();
  server = new AdsServer({ onStreamMetadata: (md) => authorizations.push(...md.get('authorization').map(String)) });
  server.setSnapshot(translateMesh(MESH));
  const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serving.certChain), private_key: Buffer.from(serving.privateKey) }], false);
  ({ port } = await server.listen(0, '127.0.0.1', creds));
}, 180_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function bootstrap(tokenFile: string): string {
  const file = join(dir, `bootstrap-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      xds_servers: [
        {
          server_uri: `localhost:${port}`,
          channel_creds: [{ type: 'tls', config: { ca_certificate_file: join(dir, 'root-cert.pem') } }],
          call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: tokenFile } }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: 'sidecar~10.0.0.9~ratings-client.shop~shop.svc.cluster.local', metadata: { GENERATOR: 'grpc' } },
    }),
  );
  return file;
}

describe('meshlet proxy-config over secure xDS (tls + jwt_token_file)', () => {
  it('resolves the target through a TLS server that sees the bearer token', async () => {
    const r = await runCli(['proxy-config', 'ratings.shop.local:8080', '--bootstrap', bootstrap(join(dir, 'istio-token')), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as ProxyConfigView;
    expect(view.endpoints).toEqual([expect.objectContaining({ address: '127.0.0.1:18080', cluster: 'outbound|8080||ratings.shop.local' })]);
    expect(authorizations).toContain(`Bearer ${token}`);
  });

  it('a missing token file: exit 1 naming the file', async () => {
    const missing = join(dir, 'no-token');
    const r = await runCli(['proxy-config', 'ratings.shop.local:8080', '--bootstrap', bootstrap(missing), '--timeout', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read the JWT token file ${missing}`);
    expect(r.stderr).not.toContain(token);
  });
});
