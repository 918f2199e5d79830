import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './machine.mjs';
import { printTable } from './report.mjs';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * One reported figure: a summary ({ median, p25, p75, min, max, n }) or a single value,
 * with an optional target { op: '<=' | '>=', value } and whether it was met.
 */
export function metric(name, unit, summary, target, note) {
  const s = typeof summary === 'number' ? { n: 1, median: summary, p25: summary, p75: summary, min: summary, max: summary } : summary;
  const m = { name, unit, ...s };
  if (target) {
    m.target = target;
    m.met = target.op === '<=' ? s.median <= target.value : s.median >= target.value;
  }
  if (note) m.note = note;
  return m;
}

export function parseArgs(argv = process.argv.slice(2)) {
  const args = { full: false, out: undefined };
  for (const a of argv) {
    if (a === '--full') args.full = true;
    else if (a.startsWith('--out=')) args.out = a.slice(6);
  }
  return args;
}

export function log(...parts) {
  process.stderr.write(`${parts.join(' ')}\n`);
}

/**
 * Runs a scenario when its file is the entry point: `node --expose-gc bench/scenarios/x.mjs [--full]`.
 * scenario: { name, title, run({ full, log }) -> { params, metrics, notes?, raw?, skipped? } }.
 */
export async function main(moduleUrl, scenario) {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const { full, out } = parseArgs();
  const mode = full ? 'full' : 'quick';
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const t0 = performance.now();
  log(`\n== ${scenario.title} (${mode}) load: ${machine.loadavg.join(' ')}`);
  const result = await scenario.run({ full, log });
  const record = {
    scenario: scenario.name,
    title: scenario.title,
    mode,
    startedAt,
    durationS: +((performance.now() - t0) / 1000).toFixed(1),
    // The flags it ran with (all but --out), so the command reproduces this run.
    command: ['node --expose-gc', `bench/scenarios/${scenario.name}.mjs`, ...process.argv.slice(2).filter((a) => !a.startsWith('--out'))].join(' '),
    machine,
    loadavgAtEnd: machineInfo().loadavg,
    ...result,
  };
  const path = out ?? `${RESULTS_DIR}${scenario.name}-${mode}.json`;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
  if (!out) printTable([record]);
  // Servers and sockets left behind must not keep a finished scenario alive.
  process.exit(0);
}
