import type { MessageContext } from './ChannelCall.js';
import { MessageWriter, OutgoingMessage, type MessageSink } from './MessageWriter.js';

/**
 * The request side of one logical call, kept so a retry can send it again (gRFC A44:
 * an RPC is retried by replaying the messages sent so far). Bounded like grpc-js's
 * `grpc.per_rpc_retry_buffer_size`: past the limit the log is dropped and the call is no
 * longer replayable (what no attempt has received yet is kept for the first one). Messages reach the
 * current attempt through a MessageWriter.
 */
export class RequestMessages {
  /**
   * The first message (a unary call's only one) in a field, later ones in `rest`: no array per unary
   * call. An array literal made per call and kept for the call's life is what V8's allocation-site
   * pretenuring moves to the old generation, where it keeps the young message objects it points to
   * alive through scavenges.
   */
  private first: OutgoingMessage | undefined;
  private rest: OutgoingMessage[] | undefined;
  private bytes = 0;
  private halfClosed = false;
  private overflowed = false;
  private released = false;
  private writer: MessageWriter | undefined;

  constructor(private readonly limitBytes: number) {}

  /** Whether every message sent so far is still held for a replay. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  /** Sends `message` to the current attempt and logs it; true when it is the one that outgrew the buffer. */
  push(context: MessageContext, message: Buffer): boolean {
    const entry = new OutgoingMessage(message, context.flags, context.callback);
    let outgrew = false;
    if (!this.overflowed) {
      this.bytes += message.length;
      outgrew = this.overflowed = this.bytes > this.limitBytes;
    }
    const writer = this.writer;
    if (writer === undefined) {
      // No attempt has started (the call waits for its target's config or a fault delay): nothing has
      // been sent, so every message is kept for the first attempt, past the limit too (the call then
      // gets no retry). The caller's write callbacks wait for that attempt, as its flow control.
      if (!this.released) this.log(entry);
      return outgrew;
    }
    if (outgrew) this.first = this.rest = undefined;
    else if (!this.overflowed) this.log(entry);
    writer.write(entry);
    return outgrew;
  }

  private log(entry: OutgoingMessage): void {
    if (this.first === undefined) this.first = entry;
    else (this.rest ??= []).push(entry);
  }

  halfClose(): void {
    this.halfClosed = true;
    this.writer?.halfClose();
  }

  /** Makes `sink` the current attempt: replays what was sent so far, then forwards what follows. */
  attach(sink: MessageSink): void {
    this.writer?.detach();
    const writer = new MessageWriter(sink);
    this.writer = writer;
    if (this.first !== undefined) writer.write(this.first);
    if (this.rest !== undefined) for (const entry of this.rest) writer.write(entry);
    if (this.halfClosed) writer.halfClose();
    // Past the limit, kept only for this (first) attempt: the writer holds what it still has to send.
    if (this.overflowed) this.first = this.rest = undefined;
  }

  /** The call committed to one attempt (or ended): nothing will be replayed again. */
  release(): void {
    this.first = this.rest = undefined;
    this.overflowed = this.released = true;
  }
}
