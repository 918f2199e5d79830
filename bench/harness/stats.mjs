// The only statistics the bench uses: order statistics (median, quartiles, percentiles,
// min/max) with linear interpolation between closest ranks. No means of ratios, no
// confidence intervals: a median with its p25-p75 (or min-max) spread, pair by pair.

/** q in [0, 1] of an already sorted numeric array (linear interpolation, as numpy's default). */
export function quantileSorted(sorted, q) {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function sortNumbers(values) {
  return Float64Array.from(values).sort();
}

/** Median and spread of a small set of per-run or per-pair values. */
export function summarize(values) {
  const s = sortNumbers(values);
  return {
    n: s.length,
    median: quantileSorted(s, 0.5),
    p25: quantileSorted(s, 0.25),
    p75: quantileSorted(s, 0.75),
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/** Latency percentiles of one run's samples (microseconds in, microseconds out). */
export function latencyPercentiles(samples, count = samples.length) {
  const s = Float64Array.prototype.slice.call(samples, 0, count).sort();
  return { p50: quantileSorted(s, 0.5), p99: quantileSorted(s, 0.99), max: count ? s[count - 1] : NaN };
}
