import type { AttemptRequest } from '../call/AttemptTransport.js';
import type { CallObserver, CallSummary } from '../call/CallObserver.js';
import type { AttemptRecord } from '../call/MeshCallError.js';
import type { RetryReason } from '../retry/AttemptOutcome.js';

/**
 * One observer fanning out to several (tracing, metrics, the app's own). A throwing observer
 * is isolated: the CallObserver contract says hooks never throw, and one bad observer must not
 * fail the call or starve the others.
 */
export function combineObservers(...observers: readonly (CallObserver | undefined)[]): CallObserver {
  const list = observers.filter((o): o is CallObserver => o !== undefined);
  const each = (fn: (o: CallObserver) => void) => {
    for (const o of list) {
      try {
        fn(o);
      } catch {
        // Telemetry must never break traffic.
      }
    }
  };
  return {
    onAttemptStart: (attempt: AttemptRequest) => each((o) => o.onAttemptStart?.(attempt)),
    onAttemptEnd: (attempt: AttemptRequest, record: AttemptRecord, reason: RetryReason | undefined) => each((o) => o.onAttemptEnd?.(attempt, record, reason)),
    onCallEnd: (summary: CallSummary) => each((o) => o.onCallEnd?.(summary)),
  };
}
