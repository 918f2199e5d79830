import type { MessageContext } from './ChannelCall.js';

/** Where request messages go: the current attempt's upstream call. */
export interface MessageSink {
  sendMessageWithContext(context: MessageContext, message: Buffer): void;
  halfClose(): void;
}

interface Sent {
  readonly message: Buffer;
  readonly flags: number | undefined;
  /** The caller's write callback; handed to the first attempt that sends the message, once. */
  callback: MessageContext['callback'];
}

/**
 * The request side of one logical call, kept so a retry can send it again (gRFC A44:
 * an RPC is retried by replaying the messages sent so far). Bounded like grpc-js's
 * `grpc.per_rpc_retry_buffer_size`: past the limit the messages are dropped and the call
 * is no longer replayable.
 */
export class RequestMessages {
  private sent: Sent[] = [];
  private bytes = 0;
  private halfClosed = false;
  private overflowed = false;
  private sink: MessageSink | undefined;

  constructor(private readonly limitBytes: number) {}

  /** Whether every message sent so far is still held for a replay. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  get complete(): boolean {
    return this.halfClosed;
  }

  push(context: MessageContext, message: Buffer): void {
    const entry: Sent = { message, flags: context.flags, callback: context.callback };
    if (this.sink !== undefined) {
      const callback = entry.callback;
      entry.callback = undefined;
      this.sink.sendMessageWithContext({ flags: entry.flags, callback }, message);
    }
    if (this.overflowed) {
      entry.callback?.();
      return;
    }
    this.bytes += message.length;
    if (this.bytes > this.limitBytes) {
      this.overflowed = true;
      for (const s of this.sent) s.callback?.();
      this.sent = [];
      entry.callback?.();
      return;
    }
    this.sent.push(entry);
  }

  halfClose(): void {
    this.halfClosed = true;
    this.sink?.halfClose();
  }

  /** Makes `sink` the current attempt: replays what was sent so far, then forwards what follows. */
  attach(sink: MessageSink): void {
    this.sink = sink;
    for (const s of this.sent) {
      const callback = s.callback;
      s.callback = undefined;
      sink.sendMessageWithContext({ flags: s.flags, callback }, s.message);
    }
    if (this.halfClosed) sink.halfClose();
  }

  /** The call committed to one attempt: nothing will be replayed again. */
  release(): void {
    for (const s of this.sent) s.callback?.();
    this.sent = [];
    this.overflowed = true;
  }
}
