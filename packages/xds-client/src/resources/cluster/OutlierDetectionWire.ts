import { LEN, VARINT, durationObject, giveUp, lengthEnd, varint, wrappedUintObject, type Cursor, type ObjectForm } from '../common/WireCursor.js';

/** OutlierDetection's UInt32Value fields by number. */
const WRAPPED_UINTS: Readonly<Record<number, string>> = {
  1: 'consecutive_5xx',
  4: 'max_ejection_percent',
  5: 'enforcing_consecutive_5xx',
  6: 'enforcing_success_rate',
  7: 'success_rate_minimum_hosts',
  8: 'success_rate_request_volume',
  9: 'success_rate_stdev_factor',
  10: 'consecutive_gateway_failure',
  11: 'enforcing_consecutive_gateway_failure',
  13: 'consecutive_local_origin_failure',
  14: 'enforcing_consecutive_local_origin_failure',
  15: 'enforcing_local_origin_success_rate',
  16: 'failure_percentage_threshold',
  17: 'enforcing_failure_percentage',
  18: 'enforcing_failure_percentage_local_origin',
  19: 'failure_percentage_minimum_hosts',
  20: 'failure_percentage_request_volume',
};

/** OutlierDetection's Duration fields by number. */
const DURATIONS: Readonly<Record<number, string>> = { 2: 'interval', 3: 'base_ejection_time', 21: 'max_ejection_time', 22: 'max_ejection_time_jitter' };

/**
 * envoy.config.cluster.v3.OutlierDetection, read into the object form protobufjs's toObject
 * gives, for the one-pass CDS decoder, which hands it to the general path's validator: its
 * UInt32Value and Duration fields and split_external_local_origin_errors (12). Anything else
 * (successful_active_health_check_uneject_host, monitors, always_eject_one_host, unknown
 * fields, a message field set twice) gives up.
 */
export function outlierDetectionObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    const field = tag >>> 3;
    if ((tag & 7) === LEN && (WRAPPED_UINTS[field] !== undefined || DURATIONS[field] !== undefined)) {
      const wrapped = WRAPPED_UINTS[field];
      const key = wrapped ?? DURATIONS[field]!;
      if (o[key] !== undefined) giveUp();
      o[key] = wrapped !== undefined ? wrappedUintObject(r, end) : durationObject(r, lengthEnd(r, end));
    } else if (tag === ((12 << 3) | VARINT)) o['split_external_local_origin_errors'] = varint(r) !== 0;
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}
