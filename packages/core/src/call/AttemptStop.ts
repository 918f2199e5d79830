import type { AttemptStopListener } from './AttemptTransport.js';

/**
 * How the engine stops one attempt, as its transport sees it (AttemptRequest.signal and onStop): the
 * AbortSignal is created only when a transport reads `signal`; one that uses `onStop` instead costs
 * no AbortController/AbortSignal per attempt. The base of the engine's attempts (CallEngine's
 * EngineAttempt, DirectCall).
 */
export class AttemptStop {
  private controller: AbortController | undefined;
  private stopReason: Error | undefined;
  private listener: AttemptStopListener | undefined;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopReason !== undefined) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  onStop(listener: AttemptStopListener): void {
    if (this.stopReason !== undefined) {
      tellStop(listener, this.stopReason);
      return;
    }
    const prev = this.listener;
    this.listener = prev === undefined ? listener : bothStops(prev, listener);
  }

  /** Once: aborts the signal (if one was created), then tells the onStop listener. */
  stop(reason: Error): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.controller?.abort(reason);
    const listener = this.listener;
    this.listener = undefined;
    if (listener !== undefined) tellStop(listener, reason);
  }
}

/**
 * A second listener on one attempt (rare). Its own function: a closure written inline in onStop made
 * V8 allocate a context for it on every call of onStop, used or not (about 50 B per attempt).
 */
function bothStops(first: AttemptStopListener, second: AttemptStopListener): AttemptStopListener {
  return (reason) => (tellStop(first, reason), tellStop(second, reason));
}

function tellStop(listener: AttemptStopListener, reason: Error): void {
  if (typeof listener === 'function') listener(reason);
  else listener.attemptStopped(reason);
}
