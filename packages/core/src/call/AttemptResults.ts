import type { AttemptResult } from '../cluster/AttemptResult.js';
import type { AttemptOutcome } from '../retry/AttemptOutcome.js';
import { AttemptError, type AttemptResponse } from './AttemptTransport.js';

/**
 * How an attempt ended, as the call engines (CallEngine and its single-attempt DirectCall) report it
 * to outlier detection and record it: shared immutable outcomes and results, so reporting an attempt
 * allocates nothing.
 */

export const LOCAL_FAILURE: AttemptResult = { kind: 'local-origin-failure' };
const CONNECT_FAILURE: AttemptOutcome = { kind: 'connect-failure' };
const REFUSED: AttemptOutcome = { kind: 'refused-stream' };
const RESET: AttemptOutcome = { kind: 'reset' };
/** The outcome recorded for an attempt the caller's cancel stopped. */
export const CALLER_RESET: AttemptOutcome = RESET;
const RESET_BEFORE: AttemptOutcome = { kind: 'reset', requestStarted: false };

/** A response that arrived after its attempt was stopped: release its body. */
export function discardLate(v: unknown): void {
  (v as Partial<AttemptResponse> | undefined)?.discard?.();
}

/** The outcome of an attempt that got no response (the transport rejected it with `err`). */
export function outcomeOf(err: unknown): AttemptOutcome {
  if (err instanceof AttemptError) {
    if (err.kind === 'connect-failure') return CONNECT_FAILURE;
    if (err.kind === 'refused-stream') return REFUSED;
    return err.requestStarted ? RESET : RESET_BEFORE;
  }
  return RESET;
}

export function attemptResult(outcome: AttemptOutcome): AttemptResult {
  if (outcome.kind !== 'response') return LOCAL_FAILURE;
  return responseResult(outcome.status, outcome.grpcStatus);
}

/** The result of an attempt that got a response head (a gRPC one with its status when known). */
export function responseResult(status: number, grpcStatus: number | undefined): AttemptResult {
  if (grpcStatus !== undefined) return (grpcStatus >= 0 && grpcStatus < GRPC_RESULTS.length ? GRPC_RESULTS[grpcStatus] : undefined) ?? { kind: 'grpc', code: grpcStatus };
  if (status < 100 || status > 599) return { kind: 'http', status };
  // One immutable result per status, made on first use.
  return (HTTP_RESULTS[status - 100] ??= Object.freeze({ kind: 'http', status }));
}

const HTTP_RESULTS: Array<AttemptResult | undefined> = new Array(500).fill(undefined);
const GRPC_RESULTS: readonly AttemptResult[] = Array.from({ length: 17 }, (_, code) => Object.freeze({ kind: 'grpc', code }) as AttemptResult);
