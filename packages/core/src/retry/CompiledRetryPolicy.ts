import type { RetryPolicy } from '@meshlet/xds-client';
import type { HeaderLookup, Random } from '../call/HeaderLookup.js';
import { HeaderMatcherSet } from '../call/HeaderMatcherSet.js';
import type { AttemptOutcome, RetryReason } from './AttemptOutcome.js';
import { GRPC_STATUS_BITS, parseRetryOn, RetryOn } from './RetryOn.js';
import { RetryBackoff } from './RetryBackoff.js';

/** gRFC A44: gRPC caps maxAttempts (num_retries + 1) at 5. */
const GRPC_MAX_ATTEMPTS = 5;

const PREVIOUS_HOSTS_NAME = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_HOSTS_TYPE = 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
const PREVIOUS_PRIORITIES_NAME = 'envoy.retry_priorities.previous_priorities';
const PREVIOUS_PRIORITIES_TYPE = 'envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig';

const RESETS = RetryOn.FIVE_XX | RetryOn.GATEWAY_ERROR | RetryOn.RESET;

/**
 * A route's (or virtual host's) retry_policy compiled once per push.
 * `classify` and `backoffMs` are the per-attempt hot path and allocate nothing.
 */
export class CompiledRetryPolicy {
  /** No retry_policy: Envoy does not retry at all. */
  static readonly NONE = new CompiledRetryPolicy('http', 0, 0, 0, 0, RetryBackoff.DEFAULT, HeaderMatcherSet.EMPTY, HeaderMatcherSet.EMPTY, new Set(), false, 1, 0);

  private constructor(
    readonly kind: 'http' | 'grpc',
    /** retry_on as RetryOn bits. */
    readonly retryOn: number,
    /** num_retries after defaults and caps: the most retries one call may make. */
    readonly maxRetries: number,
    /** per_try_timeout, ms; 0 = none (the route timeout governs). */
    readonly perTryTimeoutMs: number,
    /** per_try_idle_timeout, ms; 0 = none. */
    readonly perTryIdleTimeoutMs: number,
    readonly backoff: RetryBackoff,
    private readonly retriableHeaders: HeaderMatcherSet,
    private readonly retriableRequestHeaders: HeaderMatcherSet,
    private readonly retriableStatusCodes: ReadonlySet<number>,
    /** retry_host_predicate previous_hosts: avoid hosts already tried by this call. */
    readonly avoidPreviousHosts: boolean,
    /**
     * host_selection_retry_max_attempts: how many times a pick the predicate rejects is redone
     * (PickContext.maxSelectionAttempts; Envoy default 1, so at most two picks).
     */
    readonly maxSelectionAttempts: number,
    /**
     * retry_priority previous_priorities' update_frequency (0: none): every that many attempts, the
     * priorities the call's attempts went to are left out of the priority load its next picks use
     * (PickContext.excludedPriorities), so retries move to other priorities, e.g. other localities
     * (Istio's retryRemoteLocalities).
     */
    readonly previousPrioritiesEvery: number,
  ) {}

  /**
   * @param kind 'grpc' applies gRFC A44: only the gRPC status conditions, attempts capped
   *   at 5, and per_try_timeout / host predicates / retriable_* ignored.
   */
  static from(policy: RetryPolicy | undefined, kind: 'http' | 'grpc'): CompiledRetryPolicy {
    if (policy === undefined) return CompiledRetryPolicy.NONE;
    const retryOn = parseRetryOn(policy.retry_on, kind);
    // num_retries: UInt32Value, envoy default 1.
    let maxRetries = policy.num_retries ?? 1;
    if (kind === 'grpc') maxRetries = Math.min(maxRetries, GRPC_MAX_ATTEMPTS - 1);
    const backoff = policy.retry_back_off
      ? new RetryBackoff(policy.retry_back_off.base_interval, policy.retry_back_off.max_interval, kind === 'grpc' ? 'grpc' : 'envoy')
      : RetryBackoff.DEFAULT;
    if (kind === 'grpc') {
      return new CompiledRetryPolicy(kind, retryOn, maxRetries, 0, 0, backoff, HeaderMatcherSet.EMPTY, HeaderMatcherSet.EMPTY, new Set(), false, 1, 0);
    }
    const avoidPreviousHosts = policy.retry_host_predicate.some(
      (p) => p.name === PREVIOUS_HOSTS_NAME || p.type_url.endsWith(PREVIOUS_HOSTS_TYPE),
    );
    const rp = policy.retry_priority;
    let previousPrioritiesEvery = 0;
    if (rp !== undefined && (rp.name === PREVIOUS_PRIORITIES_NAME || rp.type_url.endsWith(PREVIOUS_PRIORITIES_TYPE))) {
      const every = (rp.config as { update_frequency?: unknown } | undefined)?.update_frequency;
      // The decoder NACKs update_frequency <= 0 (PGV gt 0); absent config is not a valid one either.
      previousPrioritiesEvery = typeof every === 'number' && every > 0 ? every : 0;
    }
    return new CompiledRetryPolicy(
      kind,
      retryOn,
      maxRetries,
      policy.per_try_timeout ?? 0,
      policy.per_try_idle_timeout ?? 0,
      backoff,
      HeaderMatcherSet.compile(policy.retriable_headers),
      HeaderMatcherSet.compile(policy.retriable_request_headers),
      new Set(policy.retriable_status_codes),
      avoidPreviousHosts,
      // host_selection_retry_max_attempts (re-picks after the first): Envoy keeps its default
      // of 1 unless the field is non-zero (RetryPolicyImpl), so an explicit 0 is 1 too.
      policy.host_selection_retry_max_attempts || 1,
      previousPrioritiesEvery,
    );
  }

  /** Whether the policy can ever retry anything. */
  get enabled(): boolean {
    return this.maxRetries > 0 && this.retryOn !== 0;
  }

  /**
   * retriable_request_headers: when set, only requests matching one of them are retried
   * at all (Envoy RetryPolicyImpl::retriableRequestHeaders).
   */
  appliesTo(requestHeaders: HeaderLookup): boolean {
    return this.retriableRequestHeaders.size === 0 || this.retriableRequestHeaders.matchesAny(requestHeaders);
  }

  /** The retry_on condition that makes this outcome retriable, or undefined when it is final. */
  classify(outcome: AttemptOutcome): RetryReason | undefined {
    const on = this.retryOn;
    if (on === 0) return undefined;
    switch (outcome.kind) {
      case 'response':
        return this.classifyResponse(on, outcome.status, outcome.headers, outcome.grpcStatus);
      case 'connect-failure':
        if (this.kind === 'grpc') return grpcUnavailable(on);
        if (on & RetryOn.CONNECT_FAILURE) return 'connect-failure';
        if (on & RESETS) return resetReason(on);
        // A failed connect never sent the request.
        if (on & RetryOn.RESET_BEFORE_REQUEST) return 'reset-before-request';
        return undefined;
      case 'refused-stream':
        if (this.kind === 'grpc') return grpcUnavailable(on);
        if (on & RetryOn.REFUSED_STREAM) return 'refused-stream';
        if (on & RESETS) return resetReason(on);
        return undefined;
      case 'reset':
        if (this.kind === 'grpc') return grpcUnavailable(on);
        if (on & RESETS) return resetReason(on);
        if (on & RetryOn.RESET_BEFORE_REQUEST && outcome.requestStarted === false) return 'reset-before-request';
        return undefined;
      case 'per-try-timeout':
        // Envoy retries a per-try timeout as a local reset: 5xx, gateway-error and reset cover it.
        if (on & RESETS) return resetReason(on);
        return undefined;
    }
  }

  /** Whether classify would retry a response outcome with these fields (without making the outcome). */
  retriesResponse(status: number, headers: HeaderLookup, grpcStatus: number | undefined): boolean {
    const on = this.retryOn;
    return on !== 0 && this.classifyResponse(on, status, headers, grpcStatus) !== undefined;
  }

  private classifyResponse(on: number, status: number, headers: HeaderLookup, grpcStatus: number | undefined): RetryReason | undefined {
    if (this.kind === 'http') {
      // x-envoy-ratelimited (an upstream Envoy rate limited the request) decides alone
      // (RetryStateImpl::wouldRetryFromHeaders): retried only under envoy-ratelimited, never
      // by 5xx, retriable-status-codes or a gRPC condition. x-envoy-overloaded, by contrast,
      // does not stop a retry: Envoy >= 1.15 retries it like any other response.
      if (headers.get('x-envoy-ratelimited') != null) return on & RetryOn.ENVOY_RATELIMITED ? 'envoy-ratelimited' : undefined;
      if (on & RetryOn.FIVE_XX && status >= 500 && status < 600) return '5xx';
      if (on & RetryOn.GATEWAY_ERROR && status >= 502 && status <= 504) return 'gateway-error';
      if (on & RetryOn.RETRIABLE_4XX && status === 409) return 'retriable-4xx';
      if (on & RetryOn.RETRIABLE_STATUS_CODES && this.retriableStatusCodes.has(status)) return 'retriable-status-codes';
      if (on & RetryOn.RETRIABLE_HEADERS && this.retriableHeaders.matchesAny(headers)) return 'retriable-headers';
    }
    if (grpcStatus === undefined) {
      const raw = headers.get('grpc-status');
      if (raw == null) return undefined;
      grpcStatus = Number(raw);
    }
    const entry = GRPC_STATUS_BITS.get(grpcStatus);
    return entry !== undefined && on & entry[0] ? entry[1] : undefined;
  }

  /** Wait (ms) before retry number `retryNumber` (1 = first retry). */
  backoffMs(retryNumber: number, random: Random): number {
    return this.backoff.delayMs(retryNumber, random);
  }
}

function resetReason(on: number): RetryReason {
  return on & RetryOn.RESET ? 'reset' : on & RetryOn.FIVE_XX ? '5xx' : 'gateway-error';
}

/** gRPC surfaces connection failures and resets as UNAVAILABLE (grpc-js does the same). */
function grpcUnavailable(on: number): RetryReason | undefined {
  return on & RetryOn.GRPC_UNAVAILABLE ? 'unavailable' : undefined;
}
