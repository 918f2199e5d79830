import { context, createContextKey, trace, type Context, type Span } from '@opentelemetry/api';
import type { AttemptRequest, AttemptResponse } from '../call/AttemptTransport.js';

/** What a transport knows when a logical call starts. */
export interface CallStart {
  readonly kind: 'http' | 'grpc';
  /** HTTP method, or the gRPC method path `/pkg.Service/Method`. */
  readonly method: string;
  /** The target as the caller named it (listener `host:port`). */
  readonly target: string;
}

const CALL_TRACE_KEY = createContextKey('meshlet.call_trace');

/**
 * Per-logical-call telemetry state: the call span (if tracing), the span of each attempt,
 * and the x-request-id shared by every attempt.
 *
 * The call engine's observer hooks carry no call identity, so the call is found through the
 * OpenTelemetry context: the transport runs the engine inside `run()`, and the hooks read
 * `context.active()`. That needs a registered context manager (NodeTracerProvider.register()
 * and NodeSDK install AsyncLocalStorage); without one, attempt spans still work, parented to
 * whatever context is active.
 */
export class CallTrace {
  readonly start: CallStart;
  /** The logical-call span; undefined for an untraced call (propagation only). */
  readonly span: Span | undefined;
  /** The context attempts run in: the caller's context plus this call (and its span). */
  readonly context: Context;
  /** x-request-id for every attempt: the caller's when it sent one, else generated once. */
  requestId: string | undefined;
  /** Set once onCallEnd has ended the span, so `run()` does not end it a second time. */
  ended = false;
  readonly #attemptSpans = new WeakMap<AttemptRequest, Span>();

  constructor(start: CallStart, span: Span | undefined, parent: Context = context.active()) {
    this.start = start;
    this.span = span;
    const withSpan = span === undefined ? parent : trace.setSpan(parent, span);
    this.context = withSpan.setValue(CALL_TRACE_KEY, this);
  }

  /** The call in a context (the active one by default), if a transport started one. */
  static of(ctx: Context = context.active()): CallTrace | undefined {
    return ctx.getValue(CALL_TRACE_KEY) as CallTrace | undefined;
  }

  /** Runs the call engine with this call active, so observer hooks and nested instrumentation see it. */
  run<T>(fn: () => T): T {
    const result = context.with(this.context, fn);
    // onCallEnd ends the span; this is the backstop for a call that failed before reaching
    // the engine (e.g. reading the request body), or ran without a context manager (onCallEnd
    // then cannot find the call), so no span is left open. The engine reports onCallEnd when
    // the response stream completes (AttemptResponse.onStreamEnd), so the backstop waits for
    // that too: the span covers the whole stream, like Envoy's access-log duration.
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          this.endWhenDone(value as AttemptResponse);
          return value;
        },
        (err: unknown) => {
          this.end();
          throw err;
        },
      ) as T;
    }
    this.end();
    return result;
  }

  /**
   * Runs `fn` (a transport starting the engine with `CallEngine.start`) with this call active. Unlike
   * `run`, it ends nothing: the transport's CallSink calls `endWhenDone` or `endAfterFailure`.
   */
  enter<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /**
   * The backstop for a call that responded: ends the span when the response stream ends (at once for a
   * response without a stream), after the engine's own onCallEnd, which normally ended it already.
   */
  endWhenDone(response: AttemptResponse | undefined): void {
    if (typeof response?.onStreamEnd === 'function') response.onStreamEnd(() => this.end());
    else this.end();
  }

  /**
   * The backstop for a call that failed, told from the CallSink: the engine reports the failure to its
   * observer after the sink returns, so the span is ended a microtask later, with the failure on it.
   */
  endAfterFailure(): void {
    queueMicrotask(() => this.end());
  }

  /** Ends the call span if the engine has not (idempotent). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span?.end();
  }

  /** @internal recorded by MeshTracing.onAttemptStart. */
  setAttemptSpan(attempt: AttemptRequest, span: Span): void {
    this.#attemptSpans.set(attempt, span);
  }

  /** The span an attempt's headers should name as parent: its own span, else the call span. */
  spanFor(attempt: AttemptRequest): Span | undefined {
    return this.#attemptSpans.get(attempt) ?? this.span;
  }
}
