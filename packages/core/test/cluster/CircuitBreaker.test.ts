import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/cluster/index.js';

describe('CircuitBreaker', () => {
  it('applies Envoy defaults 1024/1024/1024/3', () => {
    const b = new CircuitBreaker();
    for (let i = 0; i < 1024; i++) expect(b.tryAcquireRequest()).toBe(true);
    expect(b.tryAcquireRequest()).toBe(false);
    for (let i = 0; i < 1024; i++) expect(b.tryAcquirePending()).toBe(true);
    expect(b.tryAcquirePending()).toBe(false);
    for (let i = 0; i < 1024; i++) expect(b.tryAcquireConnection()).toBe(true);
    expect(b.tryAcquireConnection()).toBe(false);
    for (let i = 0; i < 3; i++) expect(b.tryAcquireRetry()).toBe(true);
    expect(b.tryAcquireRetry()).toBe(false);
    expect(b.stats).toEqual({ cx_overflow: 1, rq_pending_overflow: 1, rq_overflow: 1, rq_retry_overflow: 1 });
  });

  it('frees a slot on release and never goes negative', () => {
    const b = new CircuitBreaker({ priority: 'DEFAULT', max_requests: 1 });
    expect(b.tryAcquireRequest()).toBe(true);
    expect(b.tryAcquireRequest()).toBe(false);
    b.releaseRequest();
    b.releaseRequest();
    expect(b.activeRequests).toBe(0);
    expect(b.tryAcquireRequest()).toBe(true);
    expect(b.tryAcquireRequest()).toBe(false);
    expect(b.stats.rq_overflow).toBe(2);
  });

  it('max_retries limits concurrent retries', () => {
    const b = new CircuitBreaker({ priority: 'DEFAULT', max_retries: 1 });
    expect(b.tryAcquireRetry(100)).toBe(true);
    expect(b.tryAcquireRetry(100)).toBe(false);
    b.releaseRetry();
    expect(b.tryAcquireRetry(100)).toBe(true);
  });

  it.each([
    { budget: {}, active: 0, allowed: 3 },
    { budget: {}, active: 100, allowed: 20 },
    { budget: { budget_percent: 50 }, active: 10, allowed: 5 },
    { budget: { budget_percent: 10, min_retry_concurrency: 1 }, active: 5, allowed: 1 },
    // Envoy's max() converts the share to uint64: 20% of 17 is 3.4 -> 3, and 20% of 24 is 4.8 -> 4.
    { budget: {}, active: 17, allowed: 3 },
    { budget: {}, active: 24, allowed: 4 },
    { budget: { budget_percent: 25, min_retry_concurrency: 0 }, active: 3, allowed: 0 },
  ])('retry_budget $budget with $active outstanding allows $allowed concurrent retries (replacing max_retries)', ({ budget, active, allowed }) => {
    const b = new CircuitBreaker({ priority: 'DEFAULT', max_retries: 1000, retry_budget: budget });
    let granted = 0;
    while (b.tryAcquireRetry(active)) granted++;
    expect(granted).toBe(allowed);
  });

  it('retry budget defaults to the breaker’s own active + pending requests', () => {
    const b = new CircuitBreaker({ priority: 'DEFAULT', retry_budget: { budget_percent: 50, min_retry_concurrency: 0 } });
    for (let i = 0; i < 6; i++) b.tryAcquireRequest();
    for (let i = 0; i < 4; i++) b.tryAcquirePending();
    let granted = 0;
    while (b.tryAcquireRetry()) granted++;
    expect(granted).toBe(5);
  });

  it('configure() changes limits but keeps in-flight counts', () => {
    const b = new CircuitBreaker({ priority: 'DEFAULT', max_requests: 5 });
    for (let i = 0; i < 3; i++) b.tryAcquireRequest();
    b.configure({ priority: 'DEFAULT', max_requests: 3 });
    expect(b.activeRequests).toBe(3);
    expect(b.tryAcquireRequest()).toBe(false);
  });
});
