export type { AttemptOutcome, RetryReason } from './AttemptOutcome.js';
export { RetryOn, parseRetryOn } from './RetryOn.js';
export { RetryBackoff, DEFAULT_BACKOFF_BASE_MS } from './RetryBackoff.js';
export { CompiledRetryPolicy } from './CompiledRetryPolicy.js';
