import { metrics, ValueType, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import type { XdsClient } from '@meshlet/xds-client';
import type { Disposable } from '../cluster/Disposable.js';

export interface XdsClientMetricsOptions {
  readonly meterProvider?: MeterProvider;
  /** Wall clock in ms, for tests; default Date.now. */
  readonly now?: () => number;
}

/**
 * xDS health from the client's events: `meshlet_xds_acks_total` and `meshlet_xds_nacks_total`
 * by type_url and server, and `meshlet_xds_disconnects_total` by server. A NACK means the
 * control plane sent config this process rejected and the last good config is still serving.
 *
 * `meshlet_xds_config_age_seconds{type_url}`: seconds since a response of that type was last
 * accepted (ACKed), read at collection. It grows while the control plane is silent, unreachable
 * or sending config that is NACKed: alert on it to catch a process serving stale config. When
 * the client has a config dump (an XdsClient), types accepted before binding count from their
 * resources' last_updated, which for last-known-good config is when the file was written.
 */
export function bindXdsClientMetrics(client: Pick<XdsClient, 'on'> & Partial<Pick<XdsClient, 'configDump'>>, options: XdsClientMetricsOptions = {}): Disposable {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('meshlet');
  const now = options.now ?? Date.now;
  const acks = meter.createCounter('meshlet_xds_acks_total', { description: 'xDS responses accepted', valueType: ValueType.INT });
  const nacks = meter.createCounter('meshlet_xds_nacks_total', { description: 'xDS responses rejected', valueType: ValueType.INT });
  const disconnects = meter.createCounter('meshlet_xds_disconnects_total', { description: 'xDS stream disconnects', valueType: ValueType.INT });
  const configAge = meter.createObservableGauge('meshlet_xds_config_age_seconds', {
    description: 'Seconds since the last accepted xDS update, per resource type',
    unit: 's',
  });
  const acceptedAt = lastAcceptedByType(client);
  const observeAge = (result: ObservableResult) => {
    const t = now();
    for (const [type_url, at] of acceptedAt) result.observe(Math.max(0, (t - at) / 1000), { type_url });
  };
  configAge.addCallback(observeAge);
  const subs = [
    client.on('ack', (e) => {
      acks.add(1, { type_url: e.typeUrl, server: e.server });
      acceptedAt.set(e.typeUrl, now());
    }),
    client.on('nack', (e) => nacks.add(1, { type_url: e.typeUrl, server: e.server })),
    client.on('disconnected', (e) => disconnects.add(1, { server: e.server })),
  ];
  return {
    dispose() {
      configAge.removeCallback(observeAge);
      subs.forEach((s) => s.dispose());
    },
  };
}

/** Per type_url, the newest last_updated (epoch ms) of the client's cached resources. */
function lastAcceptedByType(client: Partial<Pick<XdsClient, 'configDump'>>): Map<string, number> {
  const byType = new Map<string, number>();
  for (const c of client.configDump?.().generic_xds_configs ?? []) {
    if (c.last_updated === undefined) continue;
    const at = c.last_updated.seconds * 1000 + Math.floor(c.last_updated.nanos / 1_000_000);
    if (at > (byType.get(c.type_url) ?? Number.NEGATIVE_INFINITY)) byType.set(c.type_url, at);
  }
  return byType;
}
