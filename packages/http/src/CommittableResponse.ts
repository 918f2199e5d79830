import type { Dispatcher } from 'undici';
import type { AttemptResponse } from '@meshlet/core/client';

/** The caller's handler as a response is committed to it. */
export interface CallerHandler {
  /**
   * The caller's own handler when it speaks undici's legacy callbacks (onHeaders with raw headers:
   * undici.request, Node's fetch); a response may then hand it the upstream's raw headers as they came,
   * instead of an adapter converting parsed headers back to Buffers.
   */
  readonly legacy: Dispatcher.DispatchHandler | undefined;
  /** The caller's handler as it came (the legacy one itself when `legacy` is set). */
  readonly handler: Dispatcher.DispatchHandler;
  /** The caller's handler in undici's current API: itself, or an adapter made for a legacy one when asked. */
  modern(): Dispatcher.DispatchHandler;
}

/**
 * A response the call engine can hand back: an upstream attempt's (streamed)
 * or a local reply. `commit` replays it into the caller's handler; `caller` is
 * the call, which is also the controller that handler sees.
 */
export interface CommittableResponse extends AttemptResponse {
  commit(caller: CallerHandler & Dispatcher.DispatchController): void;
}
