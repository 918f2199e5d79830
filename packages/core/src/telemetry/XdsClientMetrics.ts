import { metrics, ValueType, type MeterProvider } from '@opentelemetry/api';
import type { XdsClient } from '@meshlet/xds-client';
import type { Disposable } from '../cluster/Disposable.js';

export interface XdsClientMetricsOptions {
  readonly meterProvider?: MeterProvider;
}

/**
 * xDS health from the client's events: `meshlet_xds_acks_total` and `meshlet_xds_nacks_total`
 * by type_url and server, and `meshlet_xds_disconnects_total` by server. A NACK means the
 * control plane sent config this process rejected and the last good config is still serving.
 */
export function bindXdsClientMetrics(client: Pick<XdsClient, 'on'>, options: XdsClientMetricsOptions = {}): Disposable {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('meshlet');
  const acks = meter.createCounter('meshlet_xds_acks_total', { description: 'xDS responses accepted', valueType: ValueType.INT });
  const nacks = meter.createCounter('meshlet_xds_nacks_total', { description: 'xDS responses rejected', valueType: ValueType.INT });
  const disconnects = meter.createCounter('meshlet_xds_disconnects_total', { description: 'xDS stream disconnects', valueType: ValueType.INT });
  const subs = [
    client.on('ack', (e) => acks.add(1, { type_url: e.typeUrl, server: e.server })),
    client.on('nack', (e) => nacks.add(1, { type_url: e.typeUrl, server: e.server })),
    client.on('disconnected', (e) => disconnects.add(1, { server: e.server })),
  ];
  return { dispose: () => subs.forEach((s) => s.dispose()) };
}
