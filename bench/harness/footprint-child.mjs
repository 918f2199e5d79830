// One footprint sample: a process that sends requests with bare undici, or with Meshlet
// (config from a StaticResourceSource, or over ADS from a control plane in another process).
// Prints its memory use after GC as JSON. argv: variant portsJson [adsPort]
// Variants: bare, meshlet-static, meshlet-static-noregex (the same config without its one
// safe_regex route), meshlet-static-regexhit (the static config with one request in 16 sent to a
// path its regex route matches), meshlet-ads. The regex route's literal prefix (/api/v) turns away
// the other paths before RE2 runs, and a plain-syntax route regex is compiled on its first test
// (core Re2Pattern), so only the regexhit variant loads a regex engine (re2js, for a plain one).
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';
import { Agent, request } from 'undici';
import { residentByKind, residentOutsideHeap } from './residentMemory.mjs';

/**
 * Enough requests for V8's young generation to reach its steady-state size in both processes.
 * V8 doubles the semi-spaces each time the bytes surviving scavenges add up to their capacity,
 * so after 2,000 requests bare undici still had a 16 MB young generation and Meshlet (which
 * keeps more alive while it loads) 32 MB: 20 MB of the difference was how far each had got,
 * not what each costs. At 20,000 requests both are at their steady-state size: bare 26.6 to 27 MB (the
 * same at 60,000 requests). Meshlet's reached V8's 32 MB maximum while it promoted 12x bare's bytes per
 * request (the promotedPerRequest figure), and later because its load left so much surviving that new
 * space reached the maximum while requests were still warming up (BENCHMARKS.md, footprint sixth pass).
 */
const REQUESTS = 20_000;
const IN_FLIGHT = 16;
/** meshlet-static-regexhit: every REGEX_EVERY-th request goes to a path the config's regex route matches. */
const REGEX_EVERY = 16;
const REGEX_PATH = '/api/v1/items/7';

const [variant, portsJson, adsPort] = process.argv.slice(2);
const ports = JSON.parse(portsJson);
let dispatcher;
let url;
let regexUrl;
if (variant === 'bare') {
  dispatcher = new Agent();
  url = `http://127.0.0.1:${ports.v1a}/reviews/1`;
} else {
  const { loadHttp, loadXdsClient } = await import('./pkgs.mjs');
  const { applyToStatic, realisticMesh, TARGET, DEFAULT_PATH } = await import('./meshConfig.mjs');
  const { createMeshDispatcher } = await loadHttp();
  if (variant.startsWith('meshlet-static')) {
    regexUrl = variant === 'meshlet-static-regexhit' ? `http://${TARGET}${REGEX_PATH}` : undefined;
    const x = await loadXdsClient();
    const source = new x.StaticResourceSource();
    const config = realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] });
    if (variant === 'meshlet-static-noregex') {
      for (const vh of config.routes[0].virtual_hosts) vh.routes = vh.routes.filter((r) => !r.match.safe_regex);
    }
    await applyToStatic(source, config);
    dispatcher = await createMeshDispatcher({ source });
  } else {
    dispatcher = await createMeshDispatcher({
      bootstrap: {
        xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'sidecar~127.0.0.1~bench.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' } },
      },
    });
  }
  url = `http://${TARGET}${DEFAULT_PATH}`;
}
let failures = 0;
// Old space grown by scavenges while the requests run: bytes promoted, i.e. objects that survived
// two scavenges. A process that keeps each request reachable past the next scavenge promotes it
// (and grows its young generation, which V8 enlarges when much survives), even if it is garbage soon after.
const gcProfiler = new GCProfiler();
gcProfiler.start();
await Promise.all(
  Array.from({ length: IN_FLIGHT }, async () => {
    for (let i = 0; i < REQUESTS / IN_FLIGHT; i++) {
      const r = await request(regexUrl !== undefined && i % REGEX_EVERY === 0 ? regexUrl : url, { dispatcher });
      if (r.statusCode !== 200) failures++;
      await r.body.text();
    }
  }),
);
let promoted = 0;
for (const gc of gcProfiler.stop().statistics) {
  if (gc.gcType !== 'Scavenge') continue;
  const oldSpace = (side) => side.heapSpaceStatistics.find((sp) => sp.spaceName === 'old_space')?.spaceUsedSize ?? 0;
  promoted += oldSpace(gc.afterGC) - oldSpace(gc.beforeGC);
}
for (let i = 0; i < 3; i++) {
  globalThis.gc();
  await new Promise((r) => setImmediate(r));
}
const m = process.memoryUsage();
// Resident pages of the young generation: empty after GC, but V8 keeps them committed.
const youngGeneration = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
process.stdout.write(
  `${JSON.stringify({ variant, failures, requests: REQUESTS, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, youngGeneration, outsideHeap: residentOutsideHeap(), resident: residentByKind(), promotedPerRequest: promoted / REQUESTS })}\n`,
);
process.exit(0);
