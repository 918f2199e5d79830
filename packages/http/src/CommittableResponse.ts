import type { Dispatcher } from 'undici';
import type { AttemptResponse } from '@meshlet/core';
import type { ResponseHeaders } from './ResponseHeaders.js';

/**
 * A response the call engine can hand back: an upstream attempt's (streamed)
 * or a local reply. `commit` replays it into the caller's handler.
 */
export interface CommittableResponse extends AttemptResponse {
  readonly headers: ResponseHeaders;
  commit(handler: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController): void;
}
