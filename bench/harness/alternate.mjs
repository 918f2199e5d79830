import { summarize } from './stats.mjs';

/**
 * Runs baseline and candidate alternately after a warm-up of each: pair i runs
 * baseline-then-candidate when i is even and candidate-then-baseline when odd, so slow
 * drift (other load on a shared VM, thermal, GC of earlier runs) hits both sides alike.
 * `run(side)` returns an object of numeric metrics. Returns every run, plus per-pair
 * ratios/differences for the metrics named in `compare`, summarized as median + spread.
 *
 * compare: { metricName: 'ratio' | 'diff' } -> candidate/baseline or candidate-baseline.
 */
export async function alternate({ pairs, warmup, run, compare, onPair }) {
  if (warmup) {
    await warmup('baseline');
    await warmup('candidate');
  }
  const runs = [];
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline'];
    const pair = {};
    for (const side of order) pair[side] = await run(side, i);
    runs.push(pair);
    onPair?.(i, pair);
  }
  const comparisons = {};
  for (const [metric, how] of Object.entries(compare)) {
    const values = runs.map(({ baseline, candidate }) =>
      how === 'ratio' ? candidate[metric] / baseline[metric] : candidate[metric] - baseline[metric],
    );
    comparisons[metric] = { how, values, ...summarize(values) };
  }
  const sides = {};
  for (const side of ['baseline', 'candidate']) {
    sides[side] = {};
    for (const metric of Object.keys(runs[0]?.[side] ?? {})) {
      const values = runs.map((r) => r[side][metric]);
      if (values.every((v) => typeof v === 'number')) sides[side][metric] = summarize(values);
    }
  }
  return { runs, comparisons, sides };
}
