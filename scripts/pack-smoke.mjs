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
const names = ${JSON.stringify(packages)};
for (const n of names) {
  const m = await import('@meshlet/' + n);
  if (Object.keys(m).length === 0) throw new Error('@meshlet/' + n + ' exports nothing');
  console.log('@meshlet/' + n + ': ' + Object.keys(m).length + ' exports');
}
`;

const work = mkdtempSync(join(tmpdir(), 'meshlet-pack-'));
try {
  const tarballs = packages.map((name) => {
    execFileSync('pnpm', ['pack', '--pack-destination', work], { cwd: join(root, 'packages', name), stdio: 'pipe' });
    return join(work, readdirSync(work).find((f) => f.startsWith(`meshlet-${name}-`) && f.endsWith('.tgz')));
  });
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-fund', '--no-audit', '--loglevel=error', ...tarballs, '@grpc/grpc-js@~1.14.7', '@opentelemetry/api@^1.9.0'], { cwd: app, stdio: 'inherit' });
  writeFileSync(join(app, 'smoke.mjs'), SMOKE);
  execFileSync(process.execPath, ['smoke.mjs'], { cwd: app, stdio: 'inherit' });
  console.log(`pack smoke: ${packages.length} packages installed from tarballs and imported`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

