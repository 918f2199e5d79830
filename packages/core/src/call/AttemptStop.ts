import type { AttemptStopListener } from './AttemptTransport.js';

/**
 * How the engine stops one attempt, as its transport sees it (AttemptRequest.signal and onStop): the
 * AbortSignal is created only when a transport reads `signal`; one that uses `onStop` instead costs
 * no AbortController/AbortSignal per attempt. The base of the engine's attempts (CallEngine's
 * EngineAttempt, DirectCall).
 */
export class AttemptStop {
  private controller: AbortController | undefined;
  /**
   * Before stop(): the onStop listener, if any; after: the reason, in a Stopped. The two never coexist, so
   * they share one field (8 bytes less per attempt; a Stopped is made only for an attempt that is stopped).
   */
  private stopState: AttemptStopListener | Stopped | undefined;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      const state = this.stopState;
      if (state instanceof Stopped) this.controller.abort(state.reason);
    }
    return this.controller.signal;
  }

  onStop(listener: AttemptStopListener): void {
    const state = this.stopState;
    if (state instanceof Stopped) {
      tellStop(listener, state.reason);
      return;
    }
    this.stopState = state === undefined ? listener : bothStops(state, listener);
  }

  /** Once: aborts the signal (if one was created), then tells the onStop listener. */
  stop(reason: Error): void {
    const state = this.stopState;
    if (state instanceof Stopped) return;
    this.stopState = new Stopped(reason);
    this.controller?.abort(reason);
    if (state !== undefined) tellStop(state, reason);
  }
}

/** Why an attempt was stopped (AttemptStop.stopState once stop() has run). */
class Stopped {
  constructor(readonly reason: Error) {}
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
