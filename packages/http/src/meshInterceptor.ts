import { errors, type Dispatcher } from 'undici';
import {
  CallEngine,
  MeshTracing,
  combineObservers,
  istioPeerMetadataHeaders,
  routingDebugObserver,
  type CallObserver,
  type IstioMetrics,
  type Mesh,
  type TargetState,
  type UpstreamTlsFactory,
  type WorkloadIdentity,
} from '@meshlet/core/client';
import { callDispatchOptions } from './CallDispatchOptions.js';
import { modernHandler } from './LegacyCallerHandler.js';
import { MeshCall, type MeshCallOptions } from './MeshCall.js';
import { DEFAULT_MAX_REPLAY_BYTES } from './ReplayableBody.js';
import { targetOf } from './targetOf.js';
import type { UpstreamPools } from './UpstreamPools.js';

export interface MeshInterceptorOptions {
  readonly mesh: Mesh;
  /** Hosts the mesh has no listener for: sent on unchanged ('allow', default) or failed ('reject'). */
  readonly passthrough?: 'allow' | 'reject';
  /** How mesh failures surface: an Envoy-style local reply (default) or a MeshCallError. */
  readonly localReplies?: 'response' | 'error';
  /** Request bodies up to this size are buffered so they can be retried (default 1 MiB, as Envoy). */
  readonly maxReplayBodyBytes?: number;
  /** Extra call hooks (your own metrics, logs). */
  readonly observer?: CallObserver;
  /**
   * OpenTelemetry tracing through the global TracerProvider: a span per logical call and a CLIENT
   * span per attempt, trace context injected on every attempt. On by default (spans are no-ops
   * until the app registers an SDK); pass `new MeshTracing({ attemptSpans: false })` when the app's
   * own undici instrumentation already makes per-attempt spans, or `false` to turn it off.
   */
  readonly tracing?: MeshTracing | false;
  /** Istio standard metrics (istio_requests_total, ...) through the global MeterProvider. */
  readonly metrics?: IstioMetrics;
  /** This workload, announced with Istio's x-envoy-peer-metadata headers so sidecars label us. */
  readonly peerMetadata?: WorkloadIdentity;
  /** The pools the next dispatcher keeps per endpoint, told each endpoint's cluster (set by MeshDispatcher). */
  readonly pools?: UpstreamPools;
  /** Client TLS for clusters whose transport socket asks for it (set by MeshDispatcher from certificate providers). */
  readonly tls?: UpstreamTlsFactory;
}

/**
 * The mesh as an undici interceptor: `agent.compose(meshInterceptor({ mesh }))`.
 * Requests to a target the mesh knows (`host:port`, as istiod names outbound
 * listeners) are routed, balanced, retried and timed per the xDS config; the
 * attempts go out through the next dispatcher, one per chosen endpoint.
 */
export function meshInterceptor(options: MeshInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const { mesh } = options;
  const tracing = options.tracing === false ? undefined : (options.tracing ?? new MeshTracing());
  // routingDebugObserver is undefined unless MESHLET_DEBUG includes `routing`: normal calls pay nothing.
  const others = [options.metrics, options.observer, routingDebugObserver(mesh)].filter((o) => o !== undefined);
  const engine = new CallEngine({ kind: 'http', observer: combined(tracing === undefined ? others : [tracing, ...others]) });
  // While no OpenTelemetry SDK is registered, the tracing hooks would only make non-recording spans:
  // calls then run on an engine without them (see MeshTracing.recording).
  const untracedEngine = tracing === undefined ? engine : new CallEngine({ kind: 'http', observer: combined(others) });
  const callOptions: Omit<MeshCallOptions, 'dispatch'> = {
    tracing,
    attemptHeaders: { peerMetadata: options.peerMetadata ? istioPeerMetadataHeaders(options.peerMetadata) : undefined },
    engine,
    untracedEngine,
    localReplies: options.localReplies ?? 'response',
    maxReplayBodyBytes: options.maxReplayBodyBytes ?? DEFAULT_MAX_REPLAY_BYTES,
    pools: options.pools,
    tls: options.tls,
  };
  const reject = options.passthrough === 'reject';

  return (dispatch) => {
    // The calls' options with the next dispatcher's dispatch: made once here, not a field of every call.
    const calls: MeshCallOptions = { ...callOptions, dispatch };
    return function meshDispatch(opts, handler) {
      // Read from the call's own copy only (see callDispatchOptions), its origin included: a read from the
      // caller's object made by undici.request misses V8's caches (about 100 to 150 ns), and copying first
      // costs a request that leaves the mesh (passthrough, which goes on with the caller's object) a copy.
      const own = callDispatchOptions(opts);
      const t = targetOf(own.origin);
      if (!t) return dispatch(opts, handler);
      // A header value undici would refuse (CR, LF, NUL, other controls) is the caller's error, refused here
      // as plain undici refuses it: not an upstream reset that is retried and counted against a healthy host.
      const bad = invalidHeaderName(own.headers);
      if (bad !== undefined) return fail(handler, new errors.InvalidArgumentError(`invalid ${bad} header: CR, LF, NUL and other control characters are not allowed in header values`));
      const path = own.path;
      if (path.length > MAX_PATH_LENGTH) return fail(handler, new errors.InvalidArgumentError(`invalid path: ${path.length} characters, over the mesh's limit of ${MAX_PATH_LENGTH} (Envoy's default max_request_headers_kb, 60 KiB)`));
      const state = mesh.state(t.target);
      if (state.kind === 'ready') {
        new MeshCall(own, handler, calls).run(state.snapshot, t.authority);
        return true;
      }
      if (state.kind === 'missing') return notInMesh(state, t.target, opts, handler, dispatch);
      // First request to this target: wait (bounded) for its config, then route or pass through.
      void mesh.resolve(t.target).then((s) => {
        if (s.kind === 'ready') new MeshCall(own, handler, calls).run(s.snapshot, t.authority);
        else notInMesh(s, t.target, opts, handler, dispatch);
      });
      return true;
    };
  };

  // Outside meshDispatch: functions nested in it would be closures made on every request.
  function notInMesh(s: TargetState, target: string, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, dispatch: Dispatcher['dispatch']): boolean {
    if (!reject) return dispatch(opts, handler);
    const reason = s.kind === 'missing' ? s.reason : `config for ${target} did not arrive in ${mesh.resolveTimeoutMs} ms`;
    return fail(handler, new Error(`meshlet: ${target} is not in the mesh (passthrough: 'reject'): ${reason}`));
  }
}

/** Fails a request before any attempt: the caller's handler sees it start, then error. */
function fail(handler: Dispatcher.DispatchHandler, err: Error): boolean {
  const h = modernHandler(handler);
  const controller = new AbortController();
  const c: Dispatcher.DispatchController = { aborted: false, paused: false, reason: null, abort: (r) => controller.abort(r), pause() {}, resume() {} };
  h.onRequestStart?.(c, {});
  h.onResponseError?.(c, err);
  return true;
}

function combined(observers: CallObserver[]): CallObserver | undefined {
  return observers.length === 0 ? undefined : observers.length === 1 ? observers[0] : combineObservers(...observers);
}

/**
 * The longest request path (with its query) the mesh routes. Envoy refuses a request whose whole header
 * block exceeds max_request_headers_kb (60 KiB by default) with 431; Meshlet checks the path alone, which
 * costs one comparison per request, because the path is what route matching and regex rewrites work on:
 * a 200 KB path through a regex_rewrite costs RE2 seconds. Headers over the upstream's own limit are
 * refused by the upstream, as without a mesh.
 */
const MAX_PATH_LENGTH = 60 * 1024;

/** undici's own header value check (RFC 9110 field-value: HTAB, SP, VCHAR, obs-text). */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** The name of the first request header whose value undici would refuse, if any. */
function invalidHeaderName(headers: Dispatcher.DispatchOptions['headers']): string | undefined {
  if (!headers) return undefined;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (invalidValue(headers[i + 1])) return String(headers[i]);
    return undefined;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    if (typeof (headers as Partial<Iterator<unknown>>).next === 'function') return undefined; // one-shot: left to undici
    for (const [k, v] of headers as Iterable<[string, unknown]>) if (invalidValue(v)) return k;
    return undefined;
  }
  for (const k of Object.keys(headers)) if (invalidValue((headers as Record<string, unknown>)[k])) return k;
  return undefined;
}

function invalidValue(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.some((v) => INVALID_HEADER_VALUE.test(String(v)));
  return INVALID_HEADER_VALUE.test(typeof value === 'string' ? value : String(value));
}
