import { metrics, ValueType, type Attributes, type Counter, type Histogram, type MeterProvider } from '@opentelemetry/api';
import type { AttemptRequest } from '../call/AttemptTransport.js';
import type { CallObserver, CallSummary } from '../call/CallObserver.js';
import type { AttemptRecord } from '../call/MeshCallError.js';
import type { RetryReason } from '../retry/AttemptOutcome.js';
import { finalGrpcStatus } from './FinalGrpcStatus.js';
import { parseIstioClusterName } from './IstioClusterName.js';

export interface IstioMetricsOptions {
  /** Defaults to the global provider (a no-op until the app registers an SDK). */
  readonly meterProvider?: MeterProvider;
  /** Istio's source_workload (the Deployment name). */
  readonly sourceWorkload?: string;
  readonly sourceNamespace?: string;
  readonly sourceApp?: string;
  readonly sourceVersion?: string;
  /** SPIFFE id of this workload; reported as source_principal on mTLS calls only, as Istio does. */
  readonly sourcePrincipal?: string;
  readonly sourceCluster?: string;
  /** 'http' (default) or 'grpc': the protocol the engine this observer is attached to carries. */
  readonly requestProtocol?: 'http' | 'grpc';
  /** Whether calls to a cluster use Istio mTLS (its transport socket); drives connection_security_policy. */
  readonly isMutualTls?: (cluster: string) => boolean;
}

/** Istio's default duration buckets (ms), so dashboards' histogram_quantile reads the same. */
const ISTIO_DURATION_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/**
 * Size buckets (bytes): powers of ten, as Istio's size histograms have always been bucketed
 * (le="1", "10", ... "1e+07" in a sidecar's Prometheus output).
 */
const ISTIO_SIZE_BUCKETS_BYTES = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000];

const UNKNOWN = 'unknown';

/** Distinct label sets kept (destinations x outcomes); past it the cache starts over, so it stays bounded. */
const MAX_CACHED_LABEL_SETS = 1024;

/** This workload's labels, the same on every call it reports. */
interface SourceLabels {
  readonly reporter: 'source';
  readonly source_workload: string;
  readonly source_workload_namespace: string;
  readonly source_app: string;
  readonly source_version: string;
  readonly source_cluster: string;
}

/**
 * Istio's standard client-side metrics, with Istio's names and labels so the stock Grafana
 * dashboards and Kiali read Meshlet traffic like sidecar traffic: `istio_requests_total` and
 * `istio_request_duration_milliseconds`, `istio_request_bytes` and `istio_response_bytes`,
 * recorded once per logical call with reporter="source" (a sidecar's stats filter also counts
 * downstream requests, not retry attempts). Plus `meshlet_retries_total{cluster, reason}`: one
 * per retry actually made.
 *
 * The sizes are body bytes as the transport counted them while they streamed (CallSummary.bytes):
 * the caller's request body once, and the body of the response the caller got. gRPC counts each
 * message with its 5-byte length prefix, as the HTTP/2 DATA a sidecar measures. A call whose
 * transport did not count a side records no sample for it.
 */

export class IstioMetrics implements CallObserver {
  private readonly requests: Counter;
  private readonly duration: Histogram;
  private readonly requestBytes: Histogram;
  private readonly responseBytes: Histogram;
  private readonly retries: Counter;
  private readonly source: SourceLabels;
  private readonly protocol: string;
  private readonly principal: string;
  private readonly isMutualTls: (cluster: string) => boolean;
  // Which retry_on condition each attempt hit, read back at call end: every attempt but the
  // last was retried, so their reasons are exactly the retries made.
  private readonly reasons = new WeakMap<AttemptRecord, RetryReason>();
  /**
   * Label sets by destination and outcome. Building the 21-label object per call cost more than
   * the four records it feeds (a CPU profile of onCallEnd on sdk-metrics had labels() as its top self-time frame), and a
   * process sees few distinct sets: a call now builds one key string instead.
   */
  private readonly labelCache = new Map<string, Attributes>();

  constructor(options: IstioMetricsOptions = {}) {
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('meshlet');
    this.requests = meter.createCounter('istio_requests_total', { description: 'Requests made through the mesh (per logical call)', valueType: ValueType.INT });
    this.duration = meter.createHistogram('istio_request_duration_milliseconds', {
      description: 'Duration of requests made through the mesh, all attempts included',
      unit: 'ms',
      advice: { explicitBucketBoundaries: ISTIO_DURATION_BUCKETS_MS },
    });
    this.requestBytes = meter.createHistogram('istio_request_bytes', {
      description: 'Request body sizes of requests made through the mesh',
      unit: 'By',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: ISTIO_SIZE_BUCKETS_BYTES },
    });
    this.responseBytes = meter.createHistogram('istio_response_bytes', {
      description: 'Response body sizes of requests made through the mesh',
      unit: 'By',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: ISTIO_SIZE_BUCKETS_BYTES },
    });
    this.retries = meter.createCounter('meshlet_retries_total', { description: 'Retries made, by retry_on reason', valueType: ValueType.INT });
    this.protocol = options.requestProtocol ?? 'http';
    this.principal = options.sourcePrincipal ?? UNKNOWN;
    this.isMutualTls = options.isMutualTls ?? (() => false);
    this.source = {
      reporter: 'source',
      source_workload: options.sourceWorkload ?? UNKNOWN,
      source_workload_namespace: options.sourceNamespace ?? UNKNOWN,
      source_app: options.sourceApp ?? UNKNOWN,
      source_version: options.sourceVersion ?? UNKNOWN,
      source_cluster: options.sourceCluster ?? UNKNOWN,
    };
  }

  onAttemptEnd(_attempt: AttemptRequest, record: AttemptRecord, retryReason: RetryReason | undefined): void {
    if (retryReason !== undefined) this.reasons.set(record, retryReason);
  }

  onCallEnd(summary: CallSummary): void {
    const attrs = this.cachedLabels(summary);
    this.requests.add(1, attrs);
    this.duration.record(summary.durationMs, attrs);
    const bytes = summary.bytes;
    if (bytes !== undefined) {
      const sent = bytes.requestBodyBytes;
      const received = bytes.responseBodyBytes;
      if (sent !== undefined) this.requestBytes.record(sent, attrs);
      if (received !== undefined) this.responseBytes.record(received, attrs);
    }
    const attempts = summary.attempts;
    for (let i = 0; i < attempts.length - 1; i++) {
      const reason = this.reasons.get(attempts[i]!);
      if (reason !== undefined) this.retries.add(1, { cluster: summary.cluster ?? UNKNOWN, reason });
    }
  }

  private cachedLabels(summary: CallSummary): Attributes {
    const cluster = summary.cluster;
    // Everything labels() reads from the summary, and the mTLS answer (a CDS update can change it).
    const mtls = cluster !== undefined && this.isMutualTls(cluster);
    const flags = summary.flags;
    const key = `${cluster ?? ''}|${summary.target}|${summary.status ?? 0}|${finalGrpcStatus(summary) ?? ''}|${flags.length === 0 ? '' : flags.join(',')}|${mtls ? 1 : 0}`;
    let attrs = this.labelCache.get(key);
    if (attrs === undefined) {
      if (this.labelCache.size >= MAX_CACHED_LABEL_SETS) this.labelCache.clear();
      attrs = this.labels(summary);
      this.labelCache.set(key, attrs);
    }
    return attrs;
  }

  /** The Istio label set for one call. */
  labels(summary: CallSummary): Attributes {
    const parsed = summary.cluster === undefined ? undefined : parseIstioClusterName(summary.cluster);
    const service = parsed?.host ?? hostOf(summary.target);
    // Kubernetes service FQDN: name.namespace.svc.<domain>.
    const labels = service.split('.');
    const isKube = labels.length >= 3 && labels[2] === 'svc';
    const mtls = summary.cluster !== undefined && this.isMutualTls(summary.cluster);
    const grpc = finalGrpcStatus(summary);
    const source = this.source;
    // One literal of a fixed shape, not `{ ...this.source, ... }`: on Node 20 adding keys after a spread
    // copy takes V8's slow path (microseconds per call, and a new hidden class each time).
    return {
      reporter: source.reporter,
      source_workload: source.source_workload,
      source_workload_namespace: source.source_workload_namespace,
      source_app: source.source_app,
      source_version: source.source_version,
      source_cluster: source.source_cluster,
      source_principal: mtls ? this.principal : UNKNOWN,
      destination_workload: UNKNOWN,
      // The peer's own namespace needs metadata exchange responses; the service's is the usual answer.
      destination_workload_namespace: isKube ? labels[1]! : UNKNOWN,
      destination_principal: UNKNOWN,
      destination_app: UNKNOWN,
      destination_version: parsed !== undefined && parsed.subset !== '' ? parsed.subset : UNKNOWN,
      destination_service: service,
      destination_service_name: isKube ? labels[0]! : service,
      destination_service_namespace: isKube ? labels[1]! : UNKNOWN,
      destination_cluster: UNKNOWN,
      request_protocol: this.protocol,
      // Envoy logs 0 when no response was sent (e.g. the caller cancelled).
      response_code: String(summary.status ?? 0),
      grpc_response_status: grpc === undefined ? '' : String(grpc),
      response_flags: summary.flags.length === 0 ? '-' : summary.flags.join(','),
      connection_security_policy: mtls ? 'mutual_tls' : UNKNOWN,
    };
  }
}

/** `host:port` -> host (IPv6 `[a::b]:80` -> `a::b`). */
function hostOf(target: string): string {
  if (target.startsWith('[')) return target.slice(1, target.indexOf(']'));
  const colon = target.lastIndexOf(':');
  return colon > 0 ? target.slice(0, colon) : target;
}
