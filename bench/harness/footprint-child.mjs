// One footprint sample: a process that sends requests with bare undici, or with Meshlet
// (config from a StaticResourceSource, or over ADS from a control plane in another process).
// Prints its memory use after GC as JSON. argv: variant portsJson [adsPort]
import { Agent, request } from 'undici';

const [variant, portsJson, adsPort] = process.argv.slice(2);
const ports = JSON.parse(portsJson);
let dispatcher;
let url;
if (variant === 'bare') {
  dispatcher = new Agent();
  url = `http://127.0.0.1:${ports.v1a}/reviews/1`;
} else {
  const { loadHttp, loadXdsClient } = await import('./pkgs.mjs');
  const { applyToStatic, realisticMesh, TARGET, DEFAULT_PATH } = await import('./meshConfig.mjs');
  const { createMeshDispatcher } = await loadHttp();
  if (variant === 'meshlet-static') {
    const x = await loadXdsClient();
    const source = new x.StaticResourceSource();
    await applyToStatic(source, realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] }));
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
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (let i = 0; i < 125; i++) {
      const r = await request(url, { dispatcher });
      if (r.statusCode !== 200) failures++;
      await r.body.text();
    }
  }),
);
for (let i = 0; i < 3; i++) {
  globalThis.gc();
  await new Promise((r) => setImmediate(r));
}
const m = process.memoryUsage();
process.stdout.write(`${JSON.stringify({ variant, failures, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
process.exit(0);
