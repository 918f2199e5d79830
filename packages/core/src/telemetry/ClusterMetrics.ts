import { metrics, ValueType, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import type { Disposable } from '../cluster/Disposable.js';
import type { OutlierDetector } from '../cluster/OutlierDetector.js';
import type { Mesh } from '../mesh/Mesh.js';
import { meshClusters } from './MeshClusters.js';

export interface ClusterMetricsOptions {
  readonly meterProvider?: MeterProvider;
}

/**
 * Per-cluster gauges and counters read from the mesh's cluster runtimes at collection time:
 * - `meshlet_cluster_endpoints{cluster, health_status, ejected}`: endpoints by EDS health and
 *   outlier state;
 * - `meshlet_circuit_breaker_overflows_total{cluster, breaker}`: Envoy's cx_overflow,
 *   rq_pending_overflow, rq_overflow and rq_retry_overflow (cumulative, so an observable counter);
 * - `meshlet_outlier_ejections_total{cluster, reason}`: from OutlierDetector.onEject.
 *
 * Clusters are discovered at each collection, so ejection listeners attach to a cluster from
 * the first collection after it appears; ejections before that are not counted (the endpoint
 * gauge's `ejected="true"` still shows them).
 */
export function bindClusterMetrics(mesh: Mesh, options: ClusterMetricsOptions = {}): Disposable {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('meshlet');
  const endpoints = meter.createObservableGauge('meshlet_cluster_endpoints', { description: 'Endpoints per cluster by health', valueType: ValueType.INT });
  const overflows = meter.createObservableCounter('meshlet_circuit_breaker_overflows_total', {
    description: 'Requests failed fast by a circuit breaker',
    valueType: ValueType.INT,
  });
  const ejections = meter.createCounter('meshlet_outlier_ejections_total', { description: 'Outlier detection ejections', valueType: ValueType.INT });
  const subscribed = new WeakMap<OutlierDetector, Disposable>();
  const subscriptions: Disposable[] = [];

  const observeEndpoints = (result: ObservableResult) => {
    for (const [name, runtime] of meshClusters(mesh)) {
      const counts = new Map<string, number>();
      for (const host of runtime.hosts()) {
        const key = `${host.healthStatus}|${host.isEjected()}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, n] of counts) {
        const [health_status, ejected] = key.split('|') as [string, string];
        result.observe(n, { cluster: name, health_status, ejected });
      }
      const detector = runtime.outlier;
      if (detector !== undefined && !subscribed.has(detector)) {
        const sub = detector.onEject((e) => ejections.add(1, { cluster: name, reason: e.reason }));
        subscribed.set(detector, sub);
        subscriptions.push(sub);
      }
    }
  };
  const observeOverflows = (result: ObservableResult) => {
    for (const [name, runtime] of meshClusters(mesh)) {
      for (const [breaker, n] of Object.entries(runtime.overflowStats())) result.observe(n, { cluster: name, breaker });
    }
  };
  endpoints.addCallback(observeEndpoints);
  overflows.addCallback(observeOverflows);
  return {
    dispose() {
      endpoints.removeCallback(observeEndpoints);
      overflows.removeCallback(observeOverflows);
      for (const s of subscriptions.splice(0)) s.dispose();
    },
  };
}
