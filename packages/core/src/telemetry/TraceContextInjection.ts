import { context, propagation, trace, type Span } from '@opentelemetry/api';

/** Anything that takes header writes: RequestHeaders, fetch Headers, a plain adapter over grpc-js Metadata. */
export interface HeaderSetter {
  set(name: string, value: string): void;
}

const setter = {
  set(carrier: HeaderSetter, key: string, value: string): void {
    carrier.set(key, value);
  },
};

/**
 * Writes the trace context of `span` (or of the active context) with the global propagator:
 * W3C traceparent/tracestate by default once an SDK registers; B3 when the app registers
 * `@opentelemetry/propagator-b3` (e.g. `new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })`
 * for the x-b3-* headers Istio sidecars read, or a CompositePropagator of W3C and B3 to send both).
 * Without a registered propagator this writes nothing, as the API's no-op intends.
 */
export function injectTraceContext(headers: HeaderSetter, span?: Span): void {
  const ctx = span === undefined ? context.active() : trace.setSpan(context.active(), span);
  propagation.inject(ctx, headers, setter);
}
