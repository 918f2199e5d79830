import type { OutlierDetection } from '@meshlet/xds-client';

/** OutlierDetection with every Envoy default applied (envoy/config/cluster/v3/outlier_detection.proto). Durations in ms. */
export interface OutlierDetectionSettings {
  readonly consecutive_5xx: number;
  readonly consecutive_gateway_failure: number;
  readonly consecutive_local_origin_failure: number;
  readonly interval: number;
  readonly base_ejection_time: number;
  readonly max_ejection_time: number;
  readonly max_ejection_time_jitter: number;
  readonly max_ejection_percent: number;
  readonly enforcing_consecutive_5xx: number;
  readonly enforcing_consecutive_gateway_failure: number;
  readonly enforcing_consecutive_local_origin_failure: number;
  readonly enforcing_success_rate: number;
  readonly enforcing_local_origin_success_rate: number;
  readonly success_rate_minimum_hosts: number;
  readonly success_rate_request_volume: number;
  readonly success_rate_stdev_factor: number;
  readonly failure_percentage_threshold: number;
  readonly enforcing_failure_percentage: number;
  readonly enforcing_failure_percentage_local_origin: number;
  readonly failure_percentage_minimum_hosts: number;
  readonly failure_percentage_request_volume: number;
  readonly split_external_local_origin_errors: boolean;
  readonly always_eject_one_host: boolean;
}

export function resolveOutlierDetection(c: OutlierDetection): OutlierDetectionSettings {
  const base = c.base_ejection_time ?? 30_000;
  return {
    consecutive_5xx: c.consecutive_5xx ?? 5,
    consecutive_gateway_failure: c.consecutive_gateway_failure ?? 5,
    consecutive_local_origin_failure: c.consecutive_local_origin_failure ?? 5,
    interval: c.interval !== undefined && c.interval > 0 ? c.interval : 10_000,
    base_ejection_time: base,
    // "If not specified, the default value (300s) or base_ejection_time value is applied, whatever is larger."
    max_ejection_time: c.max_ejection_time ?? Math.max(300_000, base),
    max_ejection_time_jitter: c.max_ejection_time_jitter ?? 0,
    max_ejection_percent: Math.min(100, c.max_ejection_percent ?? 10),
    enforcing_consecutive_5xx: c.enforcing_consecutive_5xx ?? 100,
    enforcing_consecutive_gateway_failure: c.enforcing_consecutive_gateway_failure ?? 0,
    enforcing_consecutive_local_origin_failure: c.enforcing_consecutive_local_origin_failure ?? 100,
    enforcing_success_rate: c.enforcing_success_rate ?? 100,
    enforcing_local_origin_success_rate: c.enforcing_local_origin_success_rate ?? 100,
    success_rate_minimum_hosts: c.success_rate_minimum_hosts ?? 5,
    success_rate_request_volume: c.success_rate_request_volume ?? 100,
    success_rate_stdev_factor: c.success_rate_stdev_factor ?? 1900,
    failure_percentage_threshold: c.failure_percentage_threshold ?? 85,
    enforcing_failure_percentage: c.enforcing_failure_percentage ?? 0,
    enforcing_failure_percentage_local_origin: c.enforcing_failure_percentage_local_origin ?? 0,
    failure_percentage_minimum_hosts: c.failure_percentage_minimum_hosts ?? 5,
    failure_percentage_request_volume: c.failure_percentage_request_volume ?? 50,
    split_external_local_origin_errors: c.split_external_local_origin_errors ?? false,
    always_eject_one_host: c.always_eject_one_host ?? false,
  };
}
