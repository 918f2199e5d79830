import { context, ProxyTracerProvider, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { AttemptRequest } from '../call/AttemptTransport.js';
import type { CallObserver, CallSummary } from '../call/CallObserver.js';
import type { AttemptRecord } from '../call/MeshCallError.js';
import type { RetryReason } from '../retry/AttemptOutcome.js';
import { CallTrace, type CallStart } from './CallTrace.js';
import { finalGrpcStatus } from './FinalGrpcStatus.js';

export interface MeshTracingOptions {
  /** Defaults to the global provider (a no-op until the app registers an SDK). */
  readonly tracerProvider?: TracerProvider;
  /**
   * One CLIENT span per attempt (default true). Set false when the app already instruments
   * undici or grpc-js per request: those spans then nest under the logical-call span, and
   * Meshlet never makes a second CLIENT span for the same attempt.
   */
  readonly attemptSpans?: boolean;
}

const TRACER_NAME = 'meshlet';

/** The API's no-op provider: what a ProxyTracerProvider delegates to while no SDK is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** The provider that makes the spans: a ProxyTracerProvider's delegate (the API registers the proxy globally). */
function effectiveProvider(provider: TracerProvider): TracerProvider {
  return provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
}

/**
 * Spans for mesh calls, following the OTel HTTP/RPC client conventions:
 * - one INTERNAL span per logical call, `meshlet <method> <route>`, carrying the target,
 *   route, cluster, Envoy response flags and attempt count, with a `meshlet.retry` event per
 *   retry decision (reason and attempt number);
 * - one CLIENT span per attempt, child of the call span: server.address/port of the endpoint
 *   picked, http.request.resend_count on retries, the response status code.
 * The call span is INTERNAL, not CLIENT, because the attempts are the requests on the wire:
 * a CLIENT span per wire request is what the conventions (and backends' service maps) expect.
 */
export class MeshTracing implements CallObserver {
  readonly attemptSpans: boolean;
  private readonly tracer: Tracer;
  // Observer hooks are keyed by the AttemptRequest object only; a WeakMap lets an abandoned
  // attempt's span be collected instead of leaking.
  private readonly spans = new WeakMap<AttemptRequest, Span>();

  private readonly fixedProvider: TracerProvider | undefined;
  private seenProvider: TracerProvider | undefined;
  private seenRecording = true;

  constructor(options: MeshTracingOptions = {}) {
    this.fixedProvider = options.tracerProvider;
    this.tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);
    this.attemptSpans = options.attemptSpans ?? true;
  }

  /**
   * Whether calls need spans at all: false while the provider is the API's no-op one (no SDK
   * registered), so transports can skip the call wrapper and span hooks, which then only make
   * non-recording spans. Checked per call by identity of the provider behind the global proxy
   * (registering or disabling an SDK changes it); the provider is inspected only when it changed.
   */
  get recording(): boolean {
    const provider = effectiveProvider(this.fixedProvider ?? trace.getTracerProvider());
    if (provider !== this.seenProvider) {
      this.seenProvider = provider;
      this.seenRecording = provider !== NOOP_PROVIDER && provider.constructor.name !== 'NoopTracerProvider';
    }
    return this.seenRecording;
  }

  /** Starts a logical call as a child of the active context; run the engine inside `call.run()`. */
  startCall(start: CallStart): CallTrace {
    const span = this.tracer.startSpan(`meshlet ${start.method}`, {
      kind: SpanKind.INTERNAL,
      attributes: { 'meshlet.target': start.target, ...(start.kind === 'http' ? { 'http.request.method': start.method } : { 'rpc.system': 'grpc' }) },
    });
    return new CallTrace(start, span);
  }

  onAttemptStart(attempt: AttemptRequest): void {
    if (!this.attemptSpans) return;
    const ctx = context.active();
    const call = CallTrace.of(ctx);
    const start = call?.start;
    const attributes: Attributes = {
      'server.address': attempt.host.address,
      'server.port': attempt.host.port,
      'meshlet.cluster': attempt.cluster,
    };
    let name: string;
    if (start?.kind === 'grpc') {
      attributes['rpc.system'] = 'grpc';
      name = start.method.startsWith('/') ? start.method.slice(1) : start.method;
    } else {
      name = start?.method ?? 'HTTP';
      if (start !== undefined) attributes['http.request.method'] = start.method;
      attributes['url.path'] = attempt.path;
    }
    if (attempt.attemptCount > 1) attributes['http.request.resend_count'] = attempt.attemptCount - 1;
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, ctx);
    this.spans.set(attempt, span);
    call?.setAttemptSpan(attempt, span);
  }

  onAttemptEnd(attempt: AttemptRequest, record: AttemptRecord, retryReason: RetryReason | undefined): void {
    if (retryReason !== undefined) {
      CallTrace.of()?.span?.addEvent('meshlet.retry', { 'meshlet.retry.reason': retryReason, 'meshlet.attempt': attempt.attemptCount });
    }
    const span = this.spans.get(attempt);
    if (span === undefined) return;
    this.spans.delete(attempt);
    const outcome = record.outcome;
    if (outcome.kind === 'response') {
      if (outcome.grpcStatus !== undefined) {
        span.setAttribute('rpc.grpc.status_code', outcome.grpcStatus);
        if (outcome.grpcStatus !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
      } else {
        span.setAttribute('http.response.status_code', outcome.status);
        // Client spans: 4xx and 5xx are errors (OTel HTTP semconv).
        if (outcome.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      }
    } else {
      span.setAttribute('error.type', outcome.kind);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.kind });
    }
    span.end();
  }

  onCallEnd(summary: CallSummary): void {
    const call = CallTrace.of();
    const span = call?.span;
    if (call === undefined || span === undefined || call.ended) return;
    call.ended = true;
    if (summary.route !== undefined) {
      span.updateName(`meshlet ${call.start.method} ${summary.route}`);
      span.setAttribute('meshlet.route', summary.route);
    }
    if (summary.cluster !== undefined) span.setAttribute('meshlet.cluster', summary.cluster);
    span.setAttribute('meshlet.attempt_count', summary.attempts.length);
    // Envoy's %RESPONSE_FLAGS% form: comma separated, '-' when none.
    span.setAttribute('meshlet.response_flags', summary.flags.length === 0 ? '-' : summary.flags.join(','));
    const grpcStatus = finalGrpcStatus(summary);
    if (grpcStatus !== undefined) span.setAttribute('rpc.grpc.status_code', grpcStatus);
    else if (summary.status !== undefined) span.setAttribute('http.response.status_code', summary.status);
    if (summary.error !== undefined) {
      span.setAttribute('error.type', summary.flags[0] ?? errorName(summary.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(summary.error) });
    } else if ((grpcStatus !== undefined && grpcStatus !== 0) || (grpcStatus === undefined && summary.status !== undefined && summary.status >= 400)) {
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error';
}
function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
