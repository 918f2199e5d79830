import { spawn } from 'node:child_process';

/**
 * Runs a scavenge-survival child (HTTP's request-survival-child.mjs, gRPC's call-survival-child.mjs)
 * with the interpreter only and no pretenuring, so its figures are deterministic, and returns what it
 * printed as `SURVIVAL <json>`: bytes promoted per request or call by two scavenges, per round and side.
 */
export function runSurvivalChild<T>(script: string): Promise<T> {
  const child = spawn(process.execPath, ['--expose-gc', '--no-opt', '--no-allocation-site-pretenuring', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('SURVIVAL '));
      if (code !== 0 || line === undefined) reject(new Error(`child exited ${code}: ${err.slice(0, 2000)}`));
      else resolve(JSON.parse(line.slice('SURVIVAL '.length)) as T);
    });
  });
}

/** The median of the rounds after the first, which warms both sides up (lazily built types, pools, feedback). */
export function medianAfterWarmup(rounds: number[]): number {
  const s = rounds.slice(1).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
