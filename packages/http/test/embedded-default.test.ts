import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { request, type Dispatcher } from 'undici';
import { AdsServer, translateMesh } from '@meshlet/control-plane';
import { createMeshDispatcher, type MeshDispatcher } from '@meshlet/http';
import { startBackend, type Backend } from './helpers/backends.js';
import { eventually, meshHarness } from './helpers/harness.js';

/**
 * The embedded default (mesh.yaml loaded in-process, reloaded on change) and the local control
 * plane (AdsServer serving translateMesh output to several processes' dispatchers over ADS), with
 * the `meshlet validate` CLI, all against real loopback backends.
 */
const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const CANARY = readFileSync(join(REPO, 'examples/canary/mesh.yaml'), 'utf8');
const ORIGIN = 'http://reviews.demo.local:9080';
const { onCleanup } = meshHarness(ORIGIN);

/** The canary mesh.yaml with our backends' ports and the given v1/v2 weights. */
function meshYaml(ports: { v1: number; v2a: number; v2b: number }, v1: number, v2: number): string {
  return CANARY.replaceAll('19081', String(ports.v1))
    .replaceAll('19082', String(ports.v2a))
    .replaceAll('19083', String(ports.v2b))
    .replace(/weight: 95\b/, `weight: ${v1}`)
    .replace(/weight: 5\b/, `weight: ${v2}`);
}

async function backends(): Promise<{ v1: Backend; v2a: Backend; v2b: Backend; ports: { v1: number; v2a: number; v2b: number } }> {
  const [v1, v2a, v2b] = await Promise.all([startBackend('v1'), startBackend('v2'), startBackend('v2')]);
  onCleanup(() => Promise.all([v1, v2a, v2b].map((b) => b.close())).then(() => undefined));
  return { v1, v2a, v2b, ports: { v1: v1.port, v2a: v2a.port, v2b: v2b.port } };
}

async function versions(dispatcher: Dispatcher, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, async () => {
        const res = await request(`${ORIGIN}/reviews/1`, { dispatcher });
        const body = await res.body.text();
        return res.statusCode === 200 ? body : `status-${res.statusCode}`;
      }),
    );
    for (const v of batch) out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-embedded-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('embedded default: createMeshDispatcher({ meshConfig })', () => {
  it('routes real traffic from mesh.yaml, follows edits, and keeps the last good config on a broken edit', async () => {
    const { ports } = await backends();
    const dir = tempDir();
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, meshYaml(ports, 100, 0));
    const errors: Error[] = [];
    const dispatcher = await createMeshDispatcher({ meshConfig: file, onConfigError: (e) => errors.push(e) });
    onCleanup(() => dispatcher.destroy());

    expect(await versions(dispatcher, 30)).toEqual({ v1: 30 });

    // Shift all traffic to v2: the file watcher reloads; poll (bounded) until the split follows.
    writeFileSync(file, meshYaml(ports, 0, 100));
    await eventually(async () => (await versions(dispatcher, 10)).v2 === 10, 5000, 50);
    expect(await versions(dispatcher, 30)).toEqual({ v2: 30 });

    // A 50/50 split: 200 requests, Binomial sd ~7, ±35 is 5 sd.
    writeFileSync(file, meshYaml(ports, 50, 50));
    await eventually(async () => ((await versions(dispatcher, 20)).v1 ?? 0) > 0, 5000, 50);
    const split = await versions(dispatcher, 200);
    expect(split.v1! + split.v2!).toBe(200);
    expect(Math.abs(split.v1! - 100)).toBeLessThanOrEqual(35);

    // A broken edit (an invalid duration): reported with file:line:col, and the 50/50 config keeps serving.
    const broken = meshYaml(ports, 0, 100).replace('timeout: 3s', 'timeout: soon');
    const line = broken.split('\n').findIndex((l) => l.includes('timeout: soon')) + 1;
    writeFileSync(file, broken);
    await eventually(() => errors.length > 0, 5000, 20);
    expect(errors[0]!.message).toContain(`${line}:`);
    expect(errors[0]!.message).toMatch(/timeout/);
    const kept = await versions(dispatcher, 60);
    expect((kept.v1 ?? 0) + (kept.v2 ?? 0)).toBe(60); // every request still succeeds
    expect(kept.v1).toBeGreaterThan(0); // on the last good (50/50) config, not the broken 0/100 one

    // Fixing the file resumes reloading.
    writeFileSync(file, meshYaml(ports, 100, 0));
    await eventually(async () => (await versions(dispatcher, 10)).v1 === 10, 5000, 50);
  });
});

describe('local control plane: AdsServer publishing translateMesh output', () => {
  it('two dispatchers on an xDS bootstrap both follow a weight change pushed by the server', async () => {
    const { ports } = await backends();
    const server = new AdsServer();
    server.setSnapshot(translateMesh(meshYaml(ports, 100, 0), { file: 'mesh.yaml' }));
    const { port } = await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const bootstrap = (pod: string) => ({
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: `sidecar~127.0.0.1~${pod}.default~default.svc.cluster.local` },
    });
    const dispatchers: MeshDispatcher[] = [];
    for (const pod of ['a', 'b']) {
      const d = await createMeshDispatcher({ bootstrap: bootstrap(pod) });
      onCleanup(() => d.destroy());
      dispatchers.push(d);
    }
    for (const d of dispatchers) expect(await versions(d, 20)).toEqual({ v1: 20 });
    await eventually(() => server.streamCount === 2, 5000);

    server.setSnapshot(translateMesh(meshYaml(ports, 0, 100), { file: 'mesh.yaml' }));
    for (const d of dispatchers) await eventually(async () => (await versions(d, 10)).v2 === 10, 5000, 50);
    for (const d of dispatchers) expect(await versions(d, 20)).toEqual({ v2: 20 });
  });
});

describe('meshlet CLI', () => {
  const cli = join(REPO, 'packages/control-plane/dist/cli.js');

  beforeAll(async () => {
    if (existsSync(cli)) return;
    await new Promise<void>((ok, fail) =>
      execFile('npx', ['tsc', '-b', 'packages/control-plane'], { cwd: REPO }, (err, _out, stderr) => (err ? fail(new Error(stderr || err.message)) : ok())),
    );
  }, 120_000);

  function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((ok) =>
      execFile(process.execPath, [cli, ...args], { cwd: REPO }, (err, stdout, stderr) => ok({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })),
    );
  }

  it('validate: exit 0 for a good mesh.yaml, exit 1 with a file:line:col diagnostic for a bad one', async () => {
    const dir = tempDir();
    const good = join(dir, 'good.yaml');
    writeFileSync(good, meshYaml({ v1: 1001, v2a: 1002, v2b: 1003 }, 90, 10));
    const bad = join(dir, 'bad.yaml');
    const text = meshYaml({ v1: 1001, v2a: 1002, v2b: 1003 }, 90, 10).replace('timeout: 3s', 'timeout: soon');
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes('timeout: soon')) + 1;
    const col = lines[line - 1]!.indexOf('soon') + 1;
    writeFileSync(bad, text);
    const [ok, r, usage] = await Promise.all([run('validate', good), run('validate', bad), run('validate')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${good}: ok`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}:${line}:${col}: error:`);
    expect(r.stdout).toContain('spec.http[0].timeout');
    expect(usage.code).toBe(2);
  });
});
