import { PerformanceObserver } from 'node:perf_hooks';
import { closedLoop } from './load.mjs';

/**
 * Bytes allocated per request by `send`, over `requests` requests at `inFlight`. Run node with
 * --expose-gc --min-semi-space-size=128 --max-semi-space-size=128 so that the young generation is large
 * enough for no GC to run meanwhile: heapUsed then grows by exactly what the requests allocated. A GC in
 * between would hide some, so the count of GCs during the requests is returned with it.
 */
export async function bytesPerRequest({ send, inFlight, requests }) {
  let gcsDuring = 0;
  const watch = new PerformanceObserver((list) => void (gcsDuring += list.getEntries().length));
  globalThis.gc();
  watch.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  await closedLoop({ send, inFlight, durationMs: 60_000, maxRequests: requests });
  const after = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver GC entries
  watch.disconnect();
  return { bytes: (after - before) / requests, gcsDuring };
}
