// Tracing example: one call through the Meshlet dispatcher that is retried once, traced with the
// OpenTelemetry SDK (sdk-trace-node). Two reviews pods run on loopback; the first request pod A
// gets, it answers 503. mesh.yaml (loaded in-process, no control plane) retries 5xx on another
// host. Every span is printed by the SDK's ConsoleSpanExporter as it ends, then the whole trace
// is printed again as a compact tree:
//
//   productpage: app span (the caller's own work)
//   └─ meshlet GET reviews-route      one INTERNAL span per logical call, a meshlet.retry event
//      ├─ GET  -> pod A  503          one CLIENT span per attempt (the request on the wire)
//      │  └─ reviews-a GET /reviews/1 the pod's SERVER span, parented through traceparent
//      └─ GET  -> pod B  200
//         └─ reviews-b GET /reviews/1
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ConsoleSpanExporter, InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { createMeshDispatcher } from '@meshlet/http';
import { request } from 'undici';

const here = import.meta.dirname;

// The app's tracing setup, as any service does it: register() installs the global tracer provider,
// the W3C tracecontext propagator and the AsyncLocalStorage context manager. Meshlet uses the
// OpenTelemetry API only, so it records into whatever SDK the app registers.
const memory = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter()), new SimpleSpanProcessor(memory)],
});
provider.register();
const tracer = trace.getTracer('tracing-example');

// Two reviews pods. Each continues the caller's trace from the incoming headers with a SERVER span.
const seen = [];
async function startPod(name, failFirst) {
  let failuresLeft = failFirst ? 1 : 0;
  const server = createServer((req, res) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(`${name} ${req.method} ${req.url}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.url } }, parent);
    const status = failuresLeft-- > 0 ? 503 : 200;
    seen.push({ pod: name, status, traceparent: req.headers['traceparent'], requestId: req.headers['x-request-id'] });
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ pod: name, status }));
    span.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port };
}
const podA = await startPod('reviews-a', true);
const podB = await startPod('reviews-b', false);

// mesh.yaml names placeholder ports; point them at the pods just started.
const dir = mkdtempSync(join(tmpdir(), 'meshlet-tracing-'));
const meshPath = join(dir, 'mesh.yaml');
writeFileSync(meshPath, readFileSync(join(here, 'mesh.yaml'), 'utf8').replaceAll('19181', String(podA.port)).replaceAll('19182', String(podB.port)));
// Tracing is on by default: spans go to the global provider registered above.
const dispatcher = await createMeshDispatcher({ meshConfig: meshPath });

console.log('--- ConsoleSpanExporter (sdk-trace-node): each span as it ends ---');

/** One productpage request: an app span around one call to reviews through the mesh. Returns its trace id. */
async function productpage(n) {
  return tracer.startActiveSpan(`productpage GET /productpage #${n}`, async (span) => {
    try {
      const res = await request('http://reviews.demo.local:9080/reviews/1', { dispatcher });
      const body = await res.body.json();
      span.setAttribute('reviews.pod', body.pod);
      span.setAttribute('http.response.status_code', res.statusCode);
      return span.spanContext().traceId;
    } finally {
      span.end();
    }
  });
}

const callSpanOf = (traceId) => memory.getFinishedSpans().find((s) => s.spanContext().traceId === traceId && s.instrumentationScope.name === 'meshlet' && s.kind === SpanKind.INTERNAL);

// Round robin starts at a random pod, so the call that meets pod A's one 503 is the first or the second.
let retried;
for (let n = 1; n <= 3 && retried === undefined; n++) {
  const traceId = await productpage(n);
  // The call span ends when the response stream completes; give that callback its turn.
  for (let i = 0; i < 50 && callSpanOf(traceId) === undefined; i++) await sleep(10);
  if (callSpanOf(traceId)?.attributes['meshlet.attempt_count'] === 2) retried = traceId;
}

console.log('\n--- The trace of the call that was retried once ---');
const ok = retried !== undefined && printTree(memory.getFinishedSpans().filter((s) => s.spanContext().traceId === retried));
console.log('\n--- What the pods received (one x-request-id per logical call; traceparent names each attempt span) ---');
for (const s of seen) console.log(`  ${s.pod}  ${s.status}  traceparent=${s.traceparent}  x-request-id=${s.requestId}`);

await dispatcher.destroy();
await Promise.all([podA, podB].map((p) => new Promise((resolve) => p.server.close(resolve))));
await provider.shutdown();
rmSync(dir, { recursive: true, force: true });
if (!ok) {
  console.error('\nFAIL: no call was retried exactly once, or trace context did not reach the pods');
  process.exit(1);
}

/** Prints spans as an indented tree (parents before children, siblings by start time); returns whether the shape is as expected. */
function printTree(spans) {
  const id = (s) => s.spanContext().spanId;
  const ids = new Set(spans.map(id));
  const start = (s) => s.startTime[0] * 1e9 + s.startTime[1];
  const children = (parent) => spans.filter((s) => (parent === undefined ? !ids.has(s.parentSpanContext?.spanId) : s.parentSpanContext?.spanId === id(parent))).sort((a, b) => start(a) - start(b));
  const kinds = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
  const shown = ['meshlet.route', 'meshlet.cluster', 'meshlet.attempt_count', 'meshlet.response_flags', 'server.address', 'server.port', 'http.request.resend_count', 'http.response.status_code', 'reviews.pod', 'error.type'];
  const line = (s) => {
    const ms = (s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(1);
    const attrs = shown.filter((k) => s.attributes[k] !== undefined).map((k) => `${k}=${s.attributes[k]}`).join(' ');
    const status = s.status.code === SpanStatusCode.ERROR ? ' ERROR' : '';
    return `${s.name} [${kinds[s.kind]}] ${ms} ms${status}  ${attrs}`;
  };
  const walk = (s, prefix, last, root) => {
    console.log(root ? line(s) : `${prefix}${last ? '└─ ' : '├─ '}${line(s)}`);
    const inner = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
    const kids = children(s);
    for (const e of s.events) {
      const attrs = Object.entries(e.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
      console.log(`${inner}${kids.length > 0 ? '│' : ' '}  * event ${e.name} ${attrs}`);
    }
    kids.forEach((k, i) => walk(k, inner, i === kids.length - 1, false));
  };
  for (const root of children(undefined)) walk(root, '', true, true);

  // The shape the example promises: a call span with one retry event and two CLIENT attempts,
  // each parent of the pod's SERVER span (so the context went out on every attempt).
  const call = spans.find((s) => s.instrumentationScope.name === 'meshlet' && s.kind === SpanKind.INTERNAL);
  const attempts = call === undefined ? [] : children(call).filter((s) => s.kind === SpanKind.CLIENT);
  return (
    call !== undefined &&
    call.events.filter((e) => e.name === 'meshlet.retry').length === 1 &&
    attempts.length === 2 &&
    attempts.every((a) => children(a).some((s) => s.kind === SpanKind.SERVER))
  );
}
