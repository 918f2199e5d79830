import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLI = join(repo, 'packages/control-plane/dist/cli.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the workspace when the CLI's dist is older than any source it runs (control-plane,
 * core, xds-client), so CLI tests exercise the code under test. tsc -b is incremental and
 * tolerates another build running at the same time (it rewrites the same outputs).
 */
export function ensureBuiltCli(): void {
  let built = 0;
  try {
    built = statSync(CLI).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = ['control-plane', 'core', 'xds-client'].map((p) => newestMtime(join(repo, 'packages', p, 'src')));
  if (built > Math.max(...sources)) return;
  execFileSync('pnpm', ['build'], { cwd: repo, stdio: 'pipe', timeout: 180_000 });
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/cli.js ...args` asynchronously (a server in this process must keep answering). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
