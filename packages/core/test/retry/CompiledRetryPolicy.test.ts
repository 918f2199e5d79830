import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '@meshlet/xds-client';
import { CompiledRetryPolicy } from '../../src/retry/CompiledRetryPolicy.js';
import { PreviousPriorities } from '../../src/retry/PreviousPriorities.js';
import type { AttemptOutcome } from '../../src/retry/AttemptOutcome.js';
import { headers } from '../call/fixtures.js';

function policy(retry_on: string, extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retry_on: retry_on.split(',').map((s) => s.trim()).filter(Boolean),
    retriable_status_codes: [],
    retriable_headers: [],
    retriable_request_headers: [],
    retry_host_predicate: [],
    ...extra,
  };
}

const resp = (status: number, h: Record<string, string> = {}, grpcStatus?: number): AttemptOutcome =>
  grpcStatus === undefined ? { kind: 'response', status, headers: headers(h) } : { kind: 'response', status, headers: headers(h), grpcStatus };

describe('CompiledRetryPolicy.from', () => {
  it('no policy means no retries', () => {
    const p = CompiledRetryPolicy.from(undefined, 'http');
    expect(p.maxRetries).toBe(0);
    expect(p.enabled).toBe(false);
    expect(p.classify(resp(503))).toBeUndefined();
  });

  it('num_retries defaults to 1 and backoff to 25ms base / 250ms max', () => {
    const p = CompiledRetryPolicy.from(policy('5xx'), 'http');
    expect(p.maxRetries).toBe(1);
    expect(p.backoff.baseMs).toBe(25);
    expect(p.backoff.maxMs).toBe(250);
    expect(p.perTryTimeoutMs).toBe(0);
    expect(p.avoidPreviousHosts).toBe(false);
    expect(p.maxSelectionAttempts).toBe(1);
  });

  it('reads num_retries, per_try_timeout, retry_back_off, previous_hosts and host_selection_retry_max_attempts', () => {
    const p = CompiledRetryPolicy.from(
      policy('5xx', {
        num_retries: 4,
        per_try_timeout: 150,
        retry_back_off: { base_interval: 10, max_interval: 50 },
        retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', type_url: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' }],
        host_selection_retry_max_attempts: 5,
      }),
      'http',
    );
    expect(p.maxRetries).toBe(4);
    expect(p.perTryTimeoutMs).toBe(150);
    expect(p.backoff.baseMs).toBe(10);
    expect(p.backoff.maxMs).toBe(50);
    expect(p.avoidPreviousHosts).toBe(true);
    expect(p.maxSelectionAttempts).toBe(5);
  });

  it('retry_priority previous_priorities: its update_frequency (HTTP only; gRPC ignores retry extensions, A44); the PreviousPriorities rule', () => {
    const rp = (update_frequency?: number) => ({
      name: 'envoy.retry_priorities.previous_priorities',
      type_url: 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
      config: update_frequency === undefined ? {} : { update_frequency },
    });
    expect(CompiledRetryPolicy.from(policy('5xx', { retry_priority: rp(2) }), 'http').previousPrioritiesEvery).toBe(2);
    expect(CompiledRetryPolicy.from(policy('5xx', { retry_priority: rp(2) }), 'grpc').previousPrioritiesEvery).toBe(0);
    expect(CompiledRetryPolicy.from(policy('5xx'), 'http').previousPrioritiesEvery).toBe(0);
    expect(CompiledRetryPolicy.from(policy('5xx', { retry_priority: { name: 'other', type_url: 'type.googleapis.com/x.Other' } }), 'http').previousPrioritiesEvery).toBe(0);
    // Envoy's rule with update_frequency 2: attempts 1 and 2 use the cluster's load; after the second, both
    // attempts' priorities are left out; after the third nothing changes; after the fourth all four are.
    const p = new PreviousPriorities(2);
    p.attemptedOn(0);
    expect(p.excluded).toBeUndefined();
    p.attemptedOn(0);
    expect(p.excluded).toEqual(new Set([0]));
    p.attemptedOn(1);
    expect(p.excluded).toEqual(new Set([0]));
    p.attemptedOn(2);
    expect(p.excluded).toEqual(new Set([0, 1, 2]));
  });

  it('host_selection_retry_max_attempts: 0 keeps the default of one extra pick, as Envoy does', () => {
    expect(CompiledRetryPolicy.from(policy('5xx', { host_selection_retry_max_attempts: 0 }), 'http').maxSelectionAttempts).toBe(1);
  });

  it('gRFC A44: grpc ignores HTTP conditions, caps attempts at 5 and ignores per_try_timeout / host predicates', () => {
    const p = CompiledRetryPolicy.from(
      policy('5xx,connect-failure,unavailable', {
        num_retries: 10,
        per_try_timeout: 100,
        retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', type_url: 'x' }],
      }),
      'grpc',
    );
    expect(p.maxRetries).toBe(4);
    expect(p.perTryTimeoutMs).toBe(0);
    expect(p.avoidPreviousHosts).toBe(false);
    expect(p.classify(resp(503))).toBeUndefined();
    expect(p.classify(resp(200, {}, 14))).toBe('unavailable');
    expect(p.classify({ kind: 'per-try-timeout' })).toBeUndefined();
  });
});

describe('classify: HTTP retry_on conditions', () => {
  it('5xx retries every 5xx and every reset kind, not 4xx', () => {
    const p = CompiledRetryPolicy.from(policy('5xx'), 'http');
    for (const s of [500, 501, 502, 503, 504, 599]) expect(p.classify(resp(s))).toBe('5xx');
    expect(p.classify(resp(404))).toBeUndefined();
    expect(p.classify(resp(200))).toBeUndefined();
    expect(p.classify({ kind: 'connect-failure' })).toBe('5xx');
    expect(p.classify({ kind: 'reset' })).toBe('5xx');
    expect(p.classify({ kind: 'refused-stream' })).toBe('5xx');
    expect(p.classify({ kind: 'per-try-timeout' })).toBe('5xx');
  });

  it('gateway-error retries 502/503/504 and resets only', () => {
    const p = CompiledRetryPolicy.from(policy('gateway-error'), 'http');
    expect(p.classify(resp(500))).toBeUndefined();
    expect(p.classify(resp(501))).toBeUndefined();
    for (const s of [502, 503, 504]) expect(p.classify(resp(s))).toBe('gateway-error');
    expect(p.classify({ kind: 'reset' })).toBe('gateway-error');
    expect(p.classify({ kind: 'per-try-timeout' })).toBe('gateway-error');
  });

  it('reset retries resets, connect failures and per-try timeouts but no response', () => {
    const p = CompiledRetryPolicy.from(policy('reset'), 'http');
    expect(p.classify(resp(503))).toBeUndefined();
    expect(p.classify({ kind: 'reset' })).toBe('reset');
    expect(p.classify({ kind: 'connect-failure' })).toBe('reset');
    expect(p.classify({ kind: 'per-try-timeout' })).toBe('reset');
  });

  it('reset-before-request retries only resets before any request bytes were sent', () => {
    const p = CompiledRetryPolicy.from(policy('reset-before-request'), 'http');
    expect(p.classify({ kind: 'reset', requestStarted: false })).toBe('reset-before-request');
    expect(p.classify({ kind: 'reset', requestStarted: true })).toBeUndefined();
    expect(p.classify({ kind: 'reset' })).toBeUndefined();
    expect(p.classify({ kind: 'connect-failure' })).toBe('reset-before-request');
    expect(p.classify(resp(503))).toBeUndefined();
  });

  it('connect-failure retries only connection failures', () => {
    const p = CompiledRetryPolicy.from(policy('connect-failure'), 'http');
    expect(p.classify({ kind: 'connect-failure' })).toBe('connect-failure');
    expect(p.classify({ kind: 'reset' })).toBeUndefined();
    expect(p.classify({ kind: 'refused-stream' })).toBeUndefined();
    expect(p.classify({ kind: 'per-try-timeout' })).toBeUndefined();
    expect(p.classify(resp(503))).toBeUndefined();
  });

  it('refused-stream retries only REFUSED_STREAM resets', () => {
    const p = CompiledRetryPolicy.from(policy('refused-stream'), 'http');
    expect(p.classify({ kind: 'refused-stream' })).toBe('refused-stream');
    expect(p.classify({ kind: 'reset' })).toBeUndefined();
    expect(p.classify({ kind: 'connect-failure' })).toBeUndefined();
  });

  it('envoy-ratelimited retries responses carrying x-envoy-ratelimited', () => {
    const p = CompiledRetryPolicy.from(policy('envoy-ratelimited'), 'http');
    expect(p.classify(resp(429, { 'x-envoy-ratelimited': 'true' }))).toBe('envoy-ratelimited');
    expect(p.classify(resp(429))).toBeUndefined();
  });

  it('retriable-4xx retries 409 only', () => {
    const p = CompiledRetryPolicy.from(policy('retriable-4xx'), 'http');
    expect(p.classify(resp(409))).toBe('retriable-4xx');
    expect(p.classify(resp(400))).toBeUndefined();
    expect(p.classify(resp(503))).toBeUndefined();
  });

  it('retriable-status-codes uses retriable_status_codes only when the condition is on', () => {
    const on = CompiledRetryPolicy.from(policy('retriable-status-codes', { retriable_status_codes: [418, 503] }), 'http');
    expect(on.classify(resp(418))).toBe('retriable-status-codes');
    expect(on.classify(resp(503))).toBe('retriable-status-codes');
    expect(on.classify(resp(500))).toBeUndefined();
    const off = CompiledRetryPolicy.from(policy('connect-failure', { retriable_status_codes: [418] }), 'http');
    expect(off.classify(resp(418))).toBeUndefined();
  });

  it('retriable-headers retries when any retriable_headers matcher matches the response', () => {
    const p = CompiledRetryPolicy.from(
      policy('retriable-headers', {
        retriable_headers: [
          { name: 'X-Upstream-Retry', exact_match: 'yes', invert_match: false },
          { name: 'x-code', range_match: { start: 500, end: 510 }, invert_match: false },
        ],
      }),
      'http',
    );
    expect(p.classify(resp(200, { 'x-upstream-retry': 'yes' }))).toBe('retriable-headers');
    expect(p.classify(resp(200, { 'x-code': '503' }))).toBe('retriable-headers');
    expect(p.classify(resp(200, { 'x-code': '510' }))).toBeUndefined();
    expect(p.classify(resp(200, { 'x-upstream-retry': 'no' }))).toBeUndefined();
    expect(p.classify(resp(200))).toBeUndefined();
  });

  it('retries a response with x-envoy-overloaded like any other (Envoy >= 1.15)', () => {
    const p = CompiledRetryPolicy.from(policy('5xx'), 'http');
    expect(p.classify(resp(503, { 'x-envoy-overloaded': 'true' }))).toBe('5xx');
  });

  it('x-envoy-ratelimited is retried only under envoy-ratelimited, whatever else retry_on holds', () => {
    const rl = { 'x-envoy-ratelimited': 'true' };
    const p = CompiledRetryPolicy.from(policy('5xx,retriable-status-codes,unavailable', { retriable_status_codes: [429] }), 'http');
    expect(p.classify(resp(503, rl))).toBeUndefined();
    expect(p.classify(resp(429, rl))).toBeUndefined();
    expect(p.classify(resp(200, rl, 14))).toBeUndefined();
    expect(p.classify(resp(503))).toBe('5xx');
    const both = CompiledRetryPolicy.from(policy('5xx,envoy-ratelimited'), 'http');
    expect(both.classify(resp(503, rl))).toBe('envoy-ratelimited');
  });

  it('ignores unknown conditions and trims names', () => {
    const p = CompiledRetryPolicy.from(policy(' 5xx , bogus'), 'http');
    expect(p.classify(resp(500))).toBe('5xx');
    expect(CompiledRetryPolicy.from(policy('bogus'), 'http').enabled).toBe(false);
  });

  it('retriable_request_headers gates whether the request may be retried at all', () => {
    const p = CompiledRetryPolicy.from(
      policy('5xx', { retriable_request_headers: [{ name: ':method', exact_match: 'GET', invert_match: false }] }),
      'http',
    );
    expect(p.appliesTo(headers({ ':method': 'GET' }))).toBe(true);
    expect(p.appliesTo(headers({ ':method': 'POST' }))).toBe(false);
    expect(CompiledRetryPolicy.from(policy('5xx'), 'http').appliesTo(headers())).toBe(true);
  });
});

describe('classify: gRPC status conditions', () => {
  const cases: [string, number][] = [
    ['cancelled', 1],
    ['deadline-exceeded', 4],
    ['resource-exhausted', 8],
    ['internal', 13],
    ['unavailable', 14],
  ];
  for (const kind of ['http', 'grpc'] as const) {
    for (const [name, code] of cases) {
      it(`${kind}: ${name} retries grpc-status ${code} (field and header) and nothing else`, () => {
        const p = CompiledRetryPolicy.from(policy(name), kind);
        expect(p.classify(resp(200, {}, code))).toBe(name);
        expect(p.classify(resp(200, { 'grpc-status': String(code) }))).toBe(name);
        for (const [, other] of cases) if (other !== code) expect(p.classify(resp(200, {}, other))).toBeUndefined();
        expect(p.classify(resp(200, {}, 0))).toBeUndefined();
        expect(p.classify(resp(200))).toBeUndefined();
      });
    }
  }

  it('grpc: connection failures and resets count as UNAVAILABLE', () => {
    const p = CompiledRetryPolicy.from(policy('unavailable'), 'grpc');
    expect(p.classify({ kind: 'connect-failure' })).toBe('unavailable');
    expect(p.classify({ kind: 'refused-stream' })).toBe('unavailable');
    expect(p.classify({ kind: 'reset' })).toBe('unavailable');
    const q = CompiledRetryPolicy.from(policy('cancelled'), 'grpc');
    expect(q.classify({ kind: 'connect-failure' })).toBeUndefined();
  });

  it('Istio default policy (connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes, 2 attempts)', () => {
    const p = CompiledRetryPolicy.from(
      policy('connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', { num_retries: 2, retriable_status_codes: [503] }),
      'http',
    );
    expect(p.maxRetries).toBe(2);
    expect(p.classify({ kind: 'connect-failure' })).toBe('connect-failure');
    expect(p.classify({ kind: 'refused-stream' })).toBe('refused-stream');
    expect(p.classify(resp(503))).toBe('retriable-status-codes');
    expect(p.classify(resp(500))).toBeUndefined();
    expect(p.classify(resp(200, {}, 14))).toBe('unavailable');
    expect(p.classify({ kind: 'reset' })).toBeUndefined();
  });
});
