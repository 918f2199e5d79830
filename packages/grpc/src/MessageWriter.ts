import type { MessageContext } from './ChannelCall.js';

/** Where request messages go: one attempt's upstream call. */
export interface MessageSink {
  sendMessageWithContext(context: MessageContext, message: Buffer): void;
  halfClose(): void;
}

/** One request message and the caller's write callback, which must run exactly once. */
export class OutgoingMessage {
  private done = false;

  constructor(
    readonly message: Buffer,
    readonly flags: number | undefined,
    private readonly callback: MessageContext['callback'],
  ) {}

  /** Tells the caller the write finished (it may then write the next message). */
  complete(error?: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.callback?.(error);
  }
}

/**
 * Writes messages to one attempt's call one at a time. A grpc-js channel-level call takes
 * the next message only after the previous write's callback (a call still connecting keeps
 * a single pending message), so a replay must not send its backlog all at once. The
 * half-close is not held back that way: it goes as soon as no message waits in the queue.
 *
 * The writer is itself the write context it hands the call (`flags`, `callback`): with one
 * write in flight at a time, one context and one callback serve every message of the attempt.
 */
export class MessageWriter implements MessageContext {
  /** Messages waiting for the one in flight; made only when a second message comes while one is (not for a unary call). */
  private queue: OutgoingMessage[] | undefined;
  private inFlight: OutgoingMessage | undefined;
  private closing = false;
  private closed = false;
  private detached = false;
  /** The in-flight message's write flags (MessageContext). */
  flags: number | undefined = undefined;
  /** MessageContext: the in-flight write finished. */
  readonly callback = (error?: Error | null): void => {
    const done = this.inFlight;
    // Detached meanwhile: the message was acknowledged then.
    if (done === undefined) return;
    this.inFlight = undefined;
    done.complete(error);
    this.pump();
  };

  constructor(private readonly sink: MessageSink) {}

  write(message: OutgoingMessage): void {
    if (this.detached) return;
    if (this.inFlight === undefined && (this.queue === undefined || this.queue.length === 0)) this.send(message);
    else (this.queue ??= []).push(message);
  }

  halfClose(): void {
    this.closing = true;
    this.pump();
  }

  /**
   * Another attempt takes over. A write still in flight on this one is acknowledged to the
   * caller now: the message stays in the replay log, and the abandoned call may never call back.
   */
  detach(): void {
    this.detached = true;
    this.queue = undefined;
    this.inFlight?.complete();
    this.inFlight = undefined;
  }

  private pump(): void {
    if (this.detached) return;
    if (this.inFlight === undefined) {
      const next = this.queue?.shift();
      if (next !== undefined) this.send(next);
    }
    // The half-close follows the last message at once, while its write may still be in flight, as
    // grpc-js's own client sends it (its channel-level calls hold a half-close behind a pending
    // write). Waiting for the write callback put END_STREAM in a later DATA frame, one event-loop
    // turn on: a unary server answers only after it, so each call waited for that turn.
    if (this.closing && !this.closed && !this.detached && (this.queue === undefined || this.queue.length === 0)) {
      this.closed = true;
      this.sink.halfClose();
    }
  }

  private send(message: OutgoingMessage): void {
    this.inFlight = message;
    this.flags = message.flags;
    this.sink.sendMessageWithContext(this, message.message);
  }
}
