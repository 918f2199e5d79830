// In-process attempts for the tools that time the mesh's own work: a dispatcher that holds each attempt's
// handler, the caller's handler as undici.request's (legacy callbacks), and the answer both get, 200 with a
// small body, in the legacy callbacks a Client calls.
import { Dispatcher } from 'undici';

const RAW_HEADERS = [Buffer.from('content-type'), Buffer.from('text/plain'), Buffer.from('content-length'), Buffer.from('2')];
const BODY = Buffer.from('ok');

/** Holds each attempt's handler until the batch is answered (answerHeld). */
export class HoldingDispatcher extends Dispatcher {
  held = [];
  dispatch(_opts, handler) {
    this.held.push(handler);
    return true;
  }
  async close() {}
  async destroy() {}
}

/** Answers every held attempt, in order, and empties the list. */
export function answerHeld(stub) {
  const held = stub.held;
  stub.held = [];
  for (const h of held) {
    h.onConnect(() => {});
    h.onHeaders(200, RAW_HEADERS, () => {}, 'OK');
    h.onData(BODY);
    h.onComplete([]);
  }
}

/** Requests completed and failed through LegacyCaller handlers. */
export const callerCounts = { completed: 0, errors: 0 };

/** The caller's side, as undici.request's handler: legacy callbacks. */
export class LegacyCaller {
  onConnect(abort) {
    this.abort = abort;
  }
  onHeaders(status) {
    this.status = status;
    return true;
  }
  onData() {
    return true;
  }
  onComplete() {
    callerCounts.completed++;
  }
  onError(err) {
    callerCounts.errors++;
    if (callerCounts.errors === 1) console.error(err);
  }
}
