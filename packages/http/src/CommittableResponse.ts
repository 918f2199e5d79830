import type { Dispatcher } from 'undici';
import type { AttemptResponse } from '@meshlet/core/client';
import type { ResponseHeaders } from './ResponseHeaders.js';

/**
 * A response the call engine can hand back: an upstream attempt's (streamed)
 * or a local reply. `commit` replays it into the caller's handler.
 */
export interface CommittableResponse extends AttemptResponse {
  readonly headers: ResponseHeaders;
  /**
   * `legacy`: the caller's own handler when it speaks undici's legacy callbacks (onHeaders with raw
   * headers: undici.request, Node's fetch); a response may then hand it the upstream's raw headers as
   * they came, instead of `handler` (its adapter) converting the parsed headers back to Buffers.
   */
  commit(handler: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController, legacy?: Dispatcher.DispatchHandler): void;
}
