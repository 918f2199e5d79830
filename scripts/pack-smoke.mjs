// Packs every package as users install it (pnpm pack rewrites workspace: ranges),
// installs the tarballs with npm into an empty project and imports each one,
// so a broken `exports` map, a missing dist/ file or an undeclared dependency fails CI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const packages = ['xds-client', 'control-plane', 'core', 'http', 'grpc'];
const SMOKE = `
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
const names = ${JSON.stringify(packages)};
for (const n of names) {
  const m = await import('@meshlet/' + n);
  if (Object.keys(m).length === 0) throw new Error('@meshlet/' + n + ' exports nothing');
}
// Subpath entries: the client side of the core is the same module instances as the main entry.
const core = await import('@meshlet/core');
const coreClient = await import('@meshlet/core/client');
if (coreClient.Mesh !== core.Mesh || coreClient.CallEngine !== core.CallEngine) throw new Error('@meshlet/core/client does not re-export the core its main entry loads');
if ('RbacEngine' in coreClient || 'startAdminServer' in coreClient) throw new Error('@meshlet/core/client exports server-side modules');
const grpc = await import('@meshlet/grpc');
const grpcClient = await import('@meshlet/grpc/client');
if (grpcClient.MeshChannel !== grpc.MeshChannel || 'MeshServer' in grpcClient) throw new Error('@meshlet/grpc/client is not the client side of @meshlet/grpc');
// Route a real request through mesh.yaml with the packages as users install them.
const server = createServer((req, res) => res.end('routed:' + req.headers.host + (req.headers['x-smoke-route'] ? ':' + req.headers['x-smoke-route'] : '')));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
writeFileSync('mesh.yaml', [
  'apiVersion: networking.istio.io/v1', 'kind: ServiceEntry', 'metadata: { name: svc }',
  'spec: { hosts: [svc.smoke.local], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: STATIC,',
  '  endpoints: [{ address: 127.0.0.1, ports: { http: ' + server.address().port + ' } }] }',
  '---',
  // A regex route: its first match loads the regex engine (re2js) from the installed tarballs.
  'apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: { name: svc }',
  'spec: { hosts: [svc.smoke.local], http: [',
  '  { match: [{ uri: { regex: "/items/[0-9]+" } }], headers: { request: { set: { x-smoke-route: regex } } }, route: [{ destination: { host: svc.smoke.local } }] },',
  '  { route: [{ destination: { host: svc.smoke.local } }] } ] }',
].join('\\n'));
const { createMeshDispatcher } = await import('@meshlet/http');
const { request } = await import('undici');
const dispatcher = await createMeshDispatcher({ meshConfig: 'mesh.yaml' });
const res = await request('http://svc.smoke.local/', { dispatcher });
const body = await res.body.text();
const viaRegex = await request('http://svc.smoke.local/items/7', { dispatcher });
const regexBody = await viaRegex.body.text();
await dispatcher.close();
server.close();
if (body !== 'routed:svc.smoke.local') throw new Error('unexpected response through the mesh: ' + res.statusCode + ' ' + body);
if (regexBody !== 'routed:svc.smoke.local:regex') throw new Error('unexpected response through the regex route: ' + viaRegex.statusCode + ' ' + regexBody);
console.log('routed a request through mesh.yaml with the installed tarballs');
`;

const work = mkdtempSync(join(tmpdir(), 'meshlet-pack-'));
try {
  const tarballs = packages.map((name) => {
    try {
      execFileSync('pnpm', ['pack', '--pack-destination', work], { cwd: join(root, 'packages', name), stdio: 'pipe' });
    } catch (err) {
      throw new Error(`pnpm pack failed for @meshlet/${name}:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    }
    return join(work, readdirSync(work).find((f) => f.startsWith(`meshlet-${name}-`) && f.endsWith('.tgz')));
  });
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-fund', '--no-audit', '--loglevel=error', ...tarballs, '@grpc/grpc-js@~1.14.7', '@opentelemetry/api@^1.9.0', 'undici@^7.16.0'], { cwd: app, stdio: 'inherit' });
  writeFileSync(join(app, 'smoke.mjs'), SMOKE);
  execFileSync(process.execPath, ['smoke.mjs'], { cwd: app, stdio: 'inherit' });
  console.log(`pack smoke: ${packages.length} packages installed from tarballs and imported`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

