import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';

/** The slice of grpc-js `Metadata` read here (structural, so core does not depend on grpc-js). */
export interface GrpcMetadataReader {
  get(key: string): unknown[];
  getMap(): Record<string, unknown>;
}

const metadataGetter: TextMapGetter<GrpcMetadataReader> = {
  keys: (m) => Object.keys(m.getMap()),
  get: (m, key) => {
    const values = m.get(key);
    return values.length === 0 ? undefined : values.map(String);
  },
};

/** One server call's span; `end` takes the gRPC status the server sends. */
export interface GrpcServerSpan {
  readonly span: Span;
  /** The caller's trace continued by this span: run work in it to nest under the call. */
  readonly context: Context;
  end(code: number, details?: string): void;
}

/**
 * A SERVER span for one call an xDS-managed server receives (OTel RPC conventions), continuing
 * the caller's trace from the metadata through the app's global propagator (W3C by default, B3
 * when registered) — so a trace that left a Meshlet or Envoy client arrives as one trace.
 */
export function startGrpcServerSpan(path: string, metadata: GrpcMetadataReader): GrpcServerSpan {
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  const slash = path.lastIndexOf('/');
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  const span = trace.getTracer('meshlet').startSpan(
    `${service}/${method}`,
    { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } },
    parent,
  );
  let ended = false;
  return {
    span,
    context: trace.setSpan(parent, span),
    end(code: number, details?: string) {
      if (ended) return;
      ended = true;
      span.setAttribute('rpc.grpc.status_code', code);
      if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: details });
      span.end();
    },
  };
}
