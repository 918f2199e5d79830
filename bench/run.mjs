// Runs every scenario, each in its own child process, prints one table and saves the results.
//   pnpm bench                      quick mode (< 3 minutes), after `pnpm build`
//   node bench/run.mjs --full       full mode (config scale at 10,000 clusters, longer rounds)
//   node bench/run.mjs --only=http-overhead,hot-path
//   node bench/run.mjs --cpu-prof   also writes a .cpuprofile per scenario to bench/results/profiles/
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './harness/machine.mjs';
import { printTable, formatTable } from './harness/report.mjs';
import { RESULTS_DIR } from './harness/scenario.mjs';
import { loadGrpc } from './harness/pkgs.mjs';

const SCENARIOS = [
  { name: 'hot-path', nodeArgs: ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'] },
  { name: 'http-overhead', nodeArgs: ['--expose-gc'] },
  { name: 'grpc-overhead', nodeArgs: ['--expose-gc'] },
  { name: 'config-scale', nodeArgs: ['--expose-gc'] },
  { name: 'push-to-effect', nodeArgs: ['--expose-gc'] },
  { name: 'footprint', nodeArgs: ['--expose-gc'] },
];

const argv = process.argv.slice(2);
const full = argv.includes('--full');
const cpuProf = argv.includes('--cpu-prof');
const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const mode = full ? 'full' : 'quick';
const machine = machineInfo();
const started = new Date();
process.stdout.write(`Meshlet bench (${mode}) on ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB, node ${machine.node}\n${machine.uptime}\n`);

function runScenario(s) {
  const file = fileURLToPath(new URL(`./scenarios/${s.name}.mjs`, import.meta.url));
  const out = `${RESULTS_DIR}${s.name}-${mode}.json`;
  const args = [...s.nodeArgs];
  if (cpuProf) args.push('--cpu-prof', `--cpu-prof-dir=${RESULTS_DIR}profiles`, `--cpu-prof-name=${s.name}-${mode}.cpuprofile`);
  args.push(file, `--out=${out}`, ...(full ? ['--full'] : []));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => {
      if (code !== 0) return resolve({ scenario: s.name, error: `exited with code ${code}` });
      resolve(JSON.parse(readFileSync(out, 'utf8')));
    });
  });
}

mkdirSync(RESULTS_DIR, { recursive: true });
const records = [];
for (const s of SCENARIOS) {
  if (only && !only.includes(s.name)) continue;
  if (s.name === 'grpc-overhead') {
    // Guard for a build of @meshlet/grpc without createMeshChannel (the scenario needs it).
    const grpc = await loadGrpc().catch(() => ({}));
    if (typeof grpc.createMeshChannel !== 'function') {
      const reason = '@meshlet/grpc exports no createMeshChannel yet (gRPC integration in progress)';
      process.stdout.write(`\n== grpc-overhead: skipped: ${reason}\n`);
      records.push({ scenario: s.name, skipped: reason });
      continue;
    }
  }
  records.push(await runScenario(s));
}

// With --only, the summary still lists every scenario: the others from their last saved result.
const all = SCENARIOS.map((s) => {
  const fresh = records.find((r) => r.scenario === s.name);
  if (fresh) return fresh;
  try {
    return JSON.parse(readFileSync(`${RESULTS_DIR}${s.name}-${mode}.json`, 'utf8'));
  } catch {
    return undefined;
  }
}).filter(Boolean);
const summary = {
  mode,
  startedAt: started.toISOString(),
  durationS: +((Date.now() - started.getTime()) / 1000).toFixed(1),
  command: full ? 'node bench/run.mjs --full' : 'pnpm bench',
  machine,
  loadavgAtEnd: machineInfo().loadavg,
  ranNow: records.map((r) => r.scenario),
  table: formatTable(all).split('\n'),
  scenarios: all.map(({ raw, ...r }) => r),
};
writeFileSync(`${RESULTS_DIR}summary-${mode}.json`, `${JSON.stringify(summary, null, 2)}\n`);
printTable(records);
process.stdout.write(`\n${records.length} scenarios in ${summary.durationS} s; results in bench/results/*-${mode}.json, summary in bench/results/summary-${mode}.json\n`);
process.exit(records.some((r) => r.error) ? 1 : 0);
