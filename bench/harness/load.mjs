import { latencyPercentiles } from './stats.mjs';

/**
 * Closed-loop load: `inFlight` workers each send one request at a time for `durationMs`
 * (bounded also by `maxRequests`). `send()` returns a promise resolved when the response
 * body is fully read. Latency per request in microseconds (process.hrtime.bigint).
 */
export async function closedLoop({ send, inFlight, durationMs, maxRequests = 5_000_000 }) {
  const samples = new Float64Array(Math.min(maxRequests, 4_000_000));
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
