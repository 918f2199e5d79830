// One side of the HTTP overhead scenario's client, as each bench tool builds it: `send()` is one GET of
// DEFAULT_PATH whose body is read to the end. Sides: bare (an undici Pool to the v1a backend: the
// physical limit) and meshlet (the Meshlet dispatcher over a StaticResourceSource holding the realistic
// config: 10 routes, a 90/10 split over one v1 and one v2 subset of two endpoints each, retry policy,
// outlier detection, circuit breakers). The OpenTelemetry API is used as an instrumented app would,
// with no SDK registered: the global tracer is the no-op one.
import { trace } from '@opentelemetry/api';
import { applyToStatic, DEFAULT_PATH, realisticMesh, TARGET } from './meshConfig.mjs';
import { loadHttp, loadXdsClient } from './pkgs.mjs';

/** The workspace's builds; bench/harness/instructions-child.mjs passes another tree's (--tree). */
export const WORKSPACE_HTTP_PACKAGES = { undici: () => import('undici'), meshletUndici: () => import('undici'), xdsClient: loadXdsClient, http: loadHttp };

/**
 * { send, close } for `side`; `ports` are the backends' (v1a, v1b, v2a, v2b: bench/harness/backend.mjs).
 * `packages.meshletUndici` is the undici the Meshlet side's request() comes from: the copy @meshlet/http
 * itself resolves.
 */
export async function httpBenchClient(side, ports, packages = WORKSPACE_HTTP_PACKAGES) {
  trace.getTracer('meshlet-bench').startSpan('bench-setup').end();
  if (side === 'bare') {
    const { Pool, request } = await packages.undici();
    const pool = new Pool(`http://127.0.0.1:${ports.v1a}`, { keepAliveTimeout: 30_000 });
    const url = `http://127.0.0.1:${ports.v1a}${DEFAULT_PATH}`;
    return { send: () => request(url, { dispatcher: pool }).then((r) => r.body.text()), close: () => pool.close() };
  }
  if (side !== 'meshlet') throw new Error(`http side ${side}: expected bare or meshlet`);
  const [{ request }, x, { createMeshDispatcher }] = await Promise.all([packages.meshletUndici(), packages.xdsClient(), packages.http()]);
  const source = new x.StaticResourceSource();
  await applyToStatic(source, realisticMesh({ v1Ports: [ports.v1a, ports.v1b], v2Ports: [ports.v2a, ports.v2b] }));
  const dispatcher = await createMeshDispatcher({ source });
  const url = `http://${TARGET}${DEFAULT_PATH}`;
  // Sanity: the mesh answers through the weighted route.
  const check = await request(url, { dispatcher });
  if (check.statusCode !== 200) throw new Error(`mesh request answered ${check.statusCode}`);
  await check.body.text();
  return { send: () => request(url, { dispatcher }).then((r) => r.body.text()), close: () => dispatcher.close() };
}
