import { metrics, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import type { Disposable } from '../cluster/Disposable.js';
import type { CertificateProviderRegistry } from '../identity/CertificateProviderRegistry.js';

export interface CertificateMetricsOptions {
  readonly meterProvider?: MeterProvider;
  /** Wall clock in ms, for tests; default Date.now. */
  readonly now?: () => number;
}

/**
 * `meshlet_certificate_expiry_seconds{provider}`: seconds until the notAfter of the workload
 * certificate each certificate provider instance currently serves (negative once it has
 * expired), read at collection. A value that keeps falling instead of jumping back up at each
 * rotation means istio-agent (or the CA client) stopped renewing: alert well before zero.
 *
 * Only instances that have started and loaded an identity certificate are reported: reading
 * the gauge never starts one, and a trust-only instance (CA bundle) has no workload certificate.
 */
export function bindCertificateMetrics(providers: Pick<CertificateProviderRegistry, 'started'>, options: CertificateMetricsOptions = {}): Disposable {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('meshlet');
  const now = options.now ?? Date.now;
  const expiry = meter.createObservableGauge('meshlet_certificate_expiry_seconds', {
    description: 'Seconds until the current workload certificate expires, per certificate provider instance',
    unit: 's',
  });
  const observe = (result: ObservableResult) => {
    const t = now();
    for (const [provider, instance] of providers.started()) {
      const notAfter = instance.current()?.notAfter;
      if (notAfter !== undefined) result.observe((notAfter.getTime() - t) / 1000, { provider });
    }
  };
  expiry.addCallback(observe);
  return { dispose: () => expiry.removeCallback(observe) };
}
