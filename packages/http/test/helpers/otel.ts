/** Real OpenTelemetry SDK pieces for telemetry tests: an in-memory span exporter and a metric reader to collect() from. */
import { context, propagation, trace, SpanKind, type Attributes, type TextMapPropagator } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';

export interface GlobalTracing {
  readonly exporter: InMemorySpanExporter;
  readonly provider: NodeTracerProvider;
  /** Shuts the provider down and clears the global tracer provider, context manager and propagator. */
  uninstall(): Promise<void>;
}

/**
 * Registers a NodeTracerProvider globally (AsyncLocalStorage context manager; W3C tracecontext +
 * baggage unless `propagator` is given). Call in beforeAll and uninstall in afterAll: vitest runs
 * each file in its own fork, so per-file globals do not leak into other files.
 */
export function installTracing(propagator?: TextMapPropagator): GlobalTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register(propagator === undefined ? undefined : { propagator });
  return {
    exporter,
    provider,
    async uninstall() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** A pull reader: `await reader.collect()` reads every instrument at that moment. */
export class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export function meterWithReader(): { meterProvider: MeterProvider; reader: CollectingReader } {
  const reader = new CollectingReader();
  return { meterProvider: new MeterProvider({ readers: [reader] }), reader };
}

export interface Point {
  readonly attributes: Attributes;
  /** Sum or gauge value; for a histogram, its count. */
  readonly value: number;
  /** Histogram sum (undefined for other kinds). */
  readonly sum?: number;
}

/** The data points of one metric by name (empty when it has none yet). */
export async function collectPoints(reader: MetricReader, name: string): Promise<Point[]> {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
  const metric: MetricData | undefined = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  if (metric === undefined) return [];
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    return metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value.count, sum: p.value.sum }));
  }
  if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
    return metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value }));
  }
  throw new Error(`unexpected data point type for ${name}`);
}

/** One logical call as exported: its INTERNAL span and its CLIENT attempt spans in start order. */
export interface CallSpans {
  readonly call: ReadableSpan;
  readonly attempts: ReadableSpan[];
}

const startNs = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];

/** Groups finished spans into calls (meshlet INTERNAL spans) and their child attempt spans. */
export function callSpans(spans: readonly ReadableSpan[]): CallSpans[] {
  return spans
    .filter((s) => s.kind === SpanKind.INTERNAL && s.instrumentationScope.name === 'meshlet')
    .sort((a, b) => startNs(a) - startNs(b))
    .map((call) => ({
      call,
      attempts: spans
        .filter((s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === call.spanContext().spanId)
        .sort((a, b) => startNs(a) - startNs(b)),
    }));
}
