// Where a closed loop's bytes go: V8's sampling heap profiler over `requests` operations, objects
// the GC already freed included, grouped by allocating function (self), largest first.
import { closedLoop } from './load.mjs';

export async function allocationSites({ send, inFlight, requests, top = 40 }) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await closedLoop({ send, inFlight, durationMs: 60_000, maxRequests: requests });
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const bySite = new Map();
  const walk = (node) => {
    const f = node.callFrame;
    const where = `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\//, '').replace(/.*\/(packages|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    if (node.selfSize > 0) bySite.set(where, (bySite.get(where) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, bytes]) => ({ frame, bytesPerRequest: bytes / requests }));
}
