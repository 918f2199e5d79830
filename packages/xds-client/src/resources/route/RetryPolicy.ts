import type { RetryPolicy, TypedExtension } from '../model.js';
import { headerMatcher } from '../common/Matchers.js';
import { anyValue, decodeKnown, opaque, type AnyValue } from '../common/TypedExtensions.js';
import { asObj, at, compact, fail, list, optDurationMs, optNum, optObj, optStr, optWrappedUint, str, toNumber, type Obj } from '../common/ObjectReader.js';

/**
 * A retry extension (retry_host_predicate / retry_priority): name plus typed
 * config. Known types (previous_hosts, previous_priorities) keep their decoded
 * object form; the rest stay opaque.
 */
export function namedExtension(v: unknown, path: string): TypedExtension {
  const o = asObj(v, path);
  const name = str(o, 'name', path);
  if (o['typed_config'] === undefined) return { name, type_url: '' };
  const any: AnyValue = anyValue(o['typed_config'], at(path, 'typed_config'));
  const config = decodeKnown(any, at(path, 'typed_config'));
  return config !== undefined ? { name, type_url: any.type_url, config } : { name, type_url: any.type_url, opaque: opaque(any) };
}

/** envoy.config.route.v3.RetryPolicy (gRFC A44 validation rules). */
export function retryPolicy(o: Obj, path: string): RetryPolicy {
  const retryOn = optStr(o, 'retry_on', path) ?? '';
  // Envoy splits on ',' and ignores empty items; order is kept for logs.
  const retry_on = retryOn
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  let retry_back_off: RetryPolicy['retry_back_off'];
  const rb = optObj(o, 'retry_back_off', path);
  if (rb) {
    const rbp = at(path, 'retry_back_off');
    const base = optDurationMs(rb, 'base_interval', rbp);
    // PGV: base_interval is required and > 0; A44: max_interval < base_interval is a NACK.
    if (base === undefined) fail(at(rbp, 'base_interval'), 'base_interval is required');
    if (base <= 0) fail(at(rbp, 'base_interval'), 'base_interval must be greater than 0');
    const max = optDurationMs(rb, 'max_interval', rbp);
    if (max !== undefined && max < base) fail(at(rbp, 'max_interval'), 'max_interval must not be below base_interval');
    retry_back_off = compact({ base_interval: base, max_interval: max });
  }
  if (o['rate_limited_retry_back_off'] !== undefined) {
    // Ignored like gRPC does: Meshlet has no rate-limit-aware backoff; plain backoff still applies.
  }
  const codes = list(o, 'retriable_status_codes', path).map((c, i) => {
    const n = toNumber(c, at(at(path, 'retriable_status_codes'), i));
    if (!Number.isInteger(n) || n < 0) fail(at(at(path, 'retriable_status_codes'), i), 'expected a status code');
    return n;
  });
  const rp = optObj(o, 'retry_priority', path);
  const retry_priority = rp ? namedExtension(rp, at(path, 'retry_priority')) : undefined;
  if (retry_priority?.type_url.endsWith('.PreviousPrioritiesConfig')) {
    // PGV: update_frequency > 0.
    const every = (retry_priority.config as { update_frequency?: unknown } | undefined)?.update_frequency;
    if (typeof every !== 'number' || every <= 0) fail(at(at(at(path, 'retry_priority'), 'typed_config'), 'update_frequency'), 'update_frequency must be greater than 0');
  }
  const hostMax = optNum(o, 'host_selection_retry_max_attempts', path);
  return compact({
    retry_on,
    num_retries: optWrappedUint(o, 'num_retries', path),
    per_try_timeout: optDurationMs(o, 'per_try_timeout', path),
    per_try_idle_timeout: optDurationMs(o, 'per_try_idle_timeout', path),
    retriable_status_codes: codes,
    retriable_headers: list(o, 'retriable_headers', path).map((h, i) => headerMatcher(h, at(at(path, 'retriable_headers'), i))),
    retriable_request_headers: list(o, 'retriable_request_headers', path).map((h, i) => headerMatcher(h, at(at(path, 'retriable_request_headers'), i))),
    retry_back_off,
    retry_host_predicate: list(o, 'retry_host_predicate', path).map((x, i) => namedExtension(x, at(at(path, 'retry_host_predicate'), i))),
    host_selection_retry_max_attempts: hostMax,
    retry_priority,
  });
}
