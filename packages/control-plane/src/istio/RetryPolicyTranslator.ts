import type { SpecNode } from './SpecNode.js';
import { durationObject, typedConfig, type ProtoObject } from './ProtoObjects.js';

/** retry_on values Envoy accepts for HTTP and gRPC routes. */
const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

function previousHostsPredicate(): ProtoObject {
  return { name: 'envoy.retry_host_predicates.previous_hosts', typed_config: typedConfig('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate', {}) };
}

/**
 * istiod's retry policy for a route whose VirtualService says nothing about
 * retries (retry.DefaultPolicy): 2 retries on connection-level failures and 503,
 * preferring hosts not yet tried. With consistent hashing the previous-hosts
 * predicate is left out, because a retry must stay on the hashed host.
 */
export function istioDefaultRetryPolicy(consistentHash: boolean): ProtoObject {
  const policy: ProtoObject = {
    retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    num_retries: { value: 2 },
    retriable_status_codes: [503],
    host_selection_retry_max_attempts: 5,
  };
  if (!consistentHash) policy['retry_host_predicate'] = [previousHostsPredicate()];
  return policy;
}

/**
 * `retries` of an HTTP route, as istiod's retry.ConvertPolicy: start from the
 * default, `attempts` <= 0 (or absent) disables retries, integers in `retryOn`
 * become retriable_status_codes (adding retriable-status-codes), and a given
 * retryOn replaces the default codes. Returns undefined for "no retry policy".
 */
export function translateRetries(node: SpecNode, consistentHash: boolean): ProtoObject | undefined {
  if (!node.present) return istioDefaultRetryPolicy(consistentHash);
  if (!node.checkFields(['attempts', 'perTryTimeout', 'retryOn', 'retryRemoteLocalities', 'retryIgnorePreviousHosts', 'backoff'])) return undefined;
  const attemptsNode = node.field('attempts');
  const attempts = attemptsNode.number({ integer: true, min: 0, max: 2_147_483_647 });
  const perTry = node.field('perTryTimeout').duration({ min: 1e6 });
  const retryOnNode = node.field('retryOn');
  const retryOn = retryOnNode.string();
  const remote = node.field('retryRemoteLocalities').boolean();
  const ignorePrevious = node.field('retryIgnorePreviousHosts').boolean();
  const backoff = node.field('backoff').duration({ min: 1e6 });
  if (attempts === undefined || attempts <= 0) {
    if (!attemptsNode.present && (retryOn !== undefined || perTry !== undefined)) {
      // Istio's own rule, but almost never what the author meant.
      attemptsNode.warn('attempts is not set, which disables retries (Istio semantics); set attempts to the number of retries');
    }
    return undefined;
  }
  const out = istioDefaultRetryPolicy(consistentHash);
  out['num_retries'] = { value: attempts };
  if (retryOn !== undefined && retryOn.trim() !== '') {
    const conditions: string[] = [];
    const codes: number[] = [];
    for (const raw of retryOn.split(',')) {
      const part = raw.trim();
      if (part === '') continue;
      if (/^\d+$/.test(part) && Number(part) >= 100 && Number(part) <= 599) codes.push(Number(part));
      else if (RETRY_ON.has(part)) conditions.push(part);
      else retryOnNode.error(`"${part}" is not a retry condition; use HTTP status codes or ${[...RETRY_ON].join(', ')}`);
    }
    if (codes.length > 0 && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
    out['retry_on'] = conditions.join(',');
    out['retriable_status_codes'] = codes;
  }
  if (perTry !== undefined) out['per_try_timeout'] = durationObject(perTry);
  if (ignorePrevious !== undefined) {
    if (ignorePrevious) out['retry_host_predicate'] = [previousHostsPredicate()];
    else delete out['retry_host_predicate'];
  }
  if (remote) {
    out['retry_priority'] = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: typedConfig('envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', { update_frequency: 2 }),
    };
  }
  if (backoff !== undefined) out['retry_back_off'] = { base_interval: durationObject(backoff) };
  return out;
}
