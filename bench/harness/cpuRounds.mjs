// Alternating same-process rounds of two sides, each timed in CPU time (process.cpuUsage), for the
// in-process A/B tools: odd rounds run the candidate first. Prints the medians and the per-round
// differences in ns per request.
import { callerCounts } from './heldAttempts.mjs';

/**
 * `run(side, round)` does `perRound` requests on `side` ('baseline' | 'candidate'); `prepare(side)`,
 * if given, makes what a round needs before its timing starts and its result is passed to run.
 */
export function cpuRounds({ rounds, perRound, run, prepare = () => undefined, label = "mesh's own work per request" }) {
  const perRequest = { baseline: [], candidate: [] };
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline']) {
      const input = prepare(name);
      global.gc?.();
      const cpu0 = process.cpuUsage();
      run(name, input);
      const cpu = process.cpuUsage(cpu0);
      perRequest[name].push(((cpu.user + cpu.system) * 1000) / perRound);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const diffs = perRequest.candidate.map((c, i) => c - perRequest.baseline[i]);
  console.log(`${label}: baseline ${median(perRequest.baseline).toFixed(0)} ns, candidate ${median(perRequest.candidate).toFixed(0)} ns (medians of ${rounds} rounds)`);
  console.log(`candidate minus baseline: median ${median(diffs).toFixed(0)} ns (min..max ${Math.min(...diffs).toFixed(0)}..${Math.max(...diffs).toFixed(0)}); lower in ${diffs.filter((d) => d < 0).length} of ${rounds} rounds`);
  if (callerCounts.errors > 0 || callerCounts.completed === 0) throw new Error(`requests failed: ${callerCounts.errors} errors, ${callerCounts.completed} completed`);
}
