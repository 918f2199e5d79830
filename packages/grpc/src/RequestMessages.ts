import type { MessageContext } from './ChannelCall.js';
import { MessageWriter, OutgoingMessage, type MessageSink } from './MessageWriter.js';

/**
 * The request side of one logical call, kept so a retry can send it again (gRFC A44:
 * an RPC is retried by replaying the messages sent so far). Bounded like grpc-js's
 * `grpc.per_rpc_retry_buffer_size`: past the limit the log is dropped and the call is no
 * longer replayable. Messages reach the current attempt through a MessageWriter.
 */
export class RequestMessages {
  /** Made with the first message, sized for it (a unary call sends one). */
  private log: OutgoingMessage[] | undefined;
  private bytes = 0;
  private halfClosed = false;
  private overflowed = false;
  private writer: MessageWriter | undefined;

  constructor(private readonly limitBytes: number) {}

  /** Whether every message sent so far is still held for a replay. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  push(context: MessageContext, message: Buffer): void {
    const entry = new OutgoingMessage(message, context.flags, context.callback);
    if (!this.overflowed) {
      this.bytes += message.length;
      if (this.bytes > this.limitBytes) {
        this.overflowed = true;
        this.log = undefined;
      } else if (this.log === undefined) {
        this.log = [entry];
      } else {
        this.log.push(entry);
      }
    }
    if (this.writer !== undefined) this.writer.write(entry);
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
    if (this.log !== undefined) for (const entry of this.log) writer.write(entry);
    if (this.halfClosed) writer.halfClose();
  }

  /** The call committed to one attempt (or ended): nothing will be replayed again. */
  release(): void {
    this.log = undefined;
    this.overflowed = true;
  }
}
