import { latencyPercentiles } from './stats.mjs';

/** Latency samples kept per round at most; requests past it are counted but not sampled. */
const MAX_SAMPLES = 4_000_000;
/**
 * The first sample buffer's length (512 KB). The buffer doubles when full. It used to be allocated
 * at MAX_SAMPLES (32 MB) per round: that external memory made V8 run scavenges and a mark-compact
 * every 300 to 600 ms during the rounds that followed, charged to whichever side was running
 * (session 7, `node --trace-gc`). A round of a few seconds on loopback needs a few times this.
 */
const FIRST_SAMPLES = 65_536;

/**
 * Closed-loop load: `inFlight` workers each send one request at a time for `durationMs`
 * (bounded also by `maxRequests`). `send()` returns a promise resolved when the response
 * body is fully read. Latency per request in microseconds (process.hrtime.bigint).
 */
export async function closedLoop({ send, inFlight, durationMs, maxRequests = 5_000_000 }) {
  const limit = Math.min(maxRequests, MAX_SAMPLES);
  let samples = new Float64Array(Math.min(limit, FIRST_SAMPLES));
  let count = 0;
  let errors = 0;
  let issued = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(durationMs * 1e6));
  async function worker() {
    for (;;) {
      if (issued >= maxRequests) return;
      const t0 = process.hrtime.bigint();
      if (t0 >= deadline) return;
      issued++;
      try {
        await send();
        const t1 = process.hrtime.bigint();
        if (count === samples.length && count < limit) {
          const grown = new Float64Array(Math.min(limit, count * 2));
          grown.set(samples);
          samples = grown;
        }
        if (count < samples.length) samples[count] = Number(t1 - t0) / 1000;
        count++;
      } catch (error) {
        errors++;
        if (errors > 100) throw error;
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  const lat = latencyPercentiles(samples, Math.min(count, samples.length));
  return { requests: count, errors, elapsedS, rps: count / elapsedS, p50us: lat.p50, p99us: lat.p99, maxus: lat.max };
}
