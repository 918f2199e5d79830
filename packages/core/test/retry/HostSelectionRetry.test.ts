import type { RetryPolicy } from '@meshlet/xds-client';
import { describe, expect, it } from 'vitest';
import { ClusterRuntime } from '../../src/cluster/index.js';
import { CompiledRetryPolicy } from '../../src/retry/CompiledRetryPolicy.js';
import { FakeTime, cla, cluster, endpoints, locality, seededRandom, tally } from '../cluster/support.js';

const policy = (extra: Partial<RetryPolicy> = {}): RetryPolicy => ({
  retry_on: ['5xx'],
  retriable_status_codes: [],
  retriable_headers: [],
  retriable_request_headers: [],
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', type_url: '' }],
  ...extra,
});

/**
 * Envoy picks at most host_selection_retry_max_attempts + 1 times (LoadBalancerBase: max_attempts =
 * hostSelectionRetryCount() + 1, default count 1). With a RANDOM LB over 3 hosts and 2 of them to
 * avoid, the fresh host comes out with probability 1 - (2/3)^(picks).
 */
describe('host_selection_retry_max_attempts through ClusterRuntime.pick', () => {
  const N = 4000;
  it.each([
    { configured: undefined, picks: 2 },
    { configured: 3, picks: 4 },
  ])('host_selection_retry_max_attempts $configured gives $picks picks', ({ configured, picks }) => {
    const time = new FakeTime();
    const rt = new ClusterRuntime(cluster({ lb_policy: { policy: 'RANDOM' } }), { clock: time.clock, timers: time, random: seededRandom(7) });
    rt.updateEndpoints(cla([locality(endpoints(3))]));
    const [a, b, c] = rt.hosts();
    const compiled = CompiledRetryPolicy.from(policy(configured === undefined ? {} : { host_selection_retry_max_attempts: configured }), 'http');
    const ctx = { random: seededRandom(11), avoid: new Set([a!, b!]), maxSelectionAttempts: compiled.maxSelectionAttempts };
    const fresh = tally(N, () => rt.pick(ctx)).get(c!.key)! / N;
    // Standard error <= sqrt(0.25 / 4000) ~ 0.008; tolerance 0.03 (over 3.5 sigma). Neighbouring
    // pick counts differ by more than twice that (0.556 / 0.704 for 2 / 3 picks, 0.802 / 0.868 for 4 / 5).
    expect(Math.abs(fresh - (1 - (2 / 3) ** picks))).toBeLessThan(0.03);
  });
});
