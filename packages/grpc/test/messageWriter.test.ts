import { describe, expect, it } from 'vitest';
import type { MessageContext } from '../src/ChannelCall.js';
import { MessageWriter, OutgoingMessage, type MessageSink } from '../src/MessageWriter.js';

/**
 * MessageWriter against a sink that records what it is handed and completes writes only when the
 * test says so, as a grpc-js channel-level call completes a write later (after the HTTP/2 write).
 * The end-to-end behaviour (unary, bidi and a replayed bidi over a real server) is in meshChannel.test.ts.
 */
class RecordingSink implements MessageSink {
  readonly events: string[] = [];
  private readonly pending: MessageContext[] = [];

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    this.events.push(`message ${message.toString()}`);
    this.pending.push(context);
  }

  halfClose(): void {
    this.events.push('halfClose');
  }

  /** The oldest write handed over finishes (its callback runs). */
  completeWrite(): void {
    this.pending.shift()?.callback?.();
  }

  get writesInFlight(): number {
    return this.pending.length;
  }
}

function message(text: string, acked: string[]): OutgoingMessage {
  return new OutgoingMessage(Buffer.from(text), undefined, () => acked.push(text));
}

describe('MessageWriter', () => {
  it('sends the half-close right after the last message, before that write completes (one END_STREAM with the message, as grpc-js sends it)', () => {
    const sink = new RecordingSink();
    const acked: string[] = [];
    const writer = new MessageWriter(sink);
    writer.write(message('only', acked));
    writer.halfClose();
    expect(sink.events).toEqual(['message only', 'halfClose']);
    expect(sink.writesInFlight).toBe(1);
    expect(acked).toEqual([]);
    sink.completeWrite();
    expect(acked).toEqual(['only']);
    expect(sink.events).toEqual(['message only', 'halfClose']);
  });

  it('hands over one message at a time; a half-close waits for the queued messages, then goes once', () => {
    const sink = new RecordingSink();
    const acked: string[] = [];
    const writer = new MessageWriter(sink);
    writer.write(message('a', acked));
    writer.write(message('b', acked));
    writer.write(message('c', acked));
    writer.halfClose();
    expect(sink.events).toEqual(['message a']);
    sink.completeWrite();
    expect(sink.events).toEqual(['message a', 'message b']);
    sink.completeWrite();
    // c is the last message: the half-close follows it without waiting for its write.
    expect(sink.events).toEqual(['message a', 'message b', 'message c', 'halfClose']);
    sink.completeWrite();
    expect(acked).toEqual(['a', 'b', 'c']);
    expect(sink.events.filter((e) => e === 'halfClose')).toHaveLength(1);
  });

  it('after detach (another attempt took over) acknowledges the write in flight and sends nothing more', () => {
    const sink = new RecordingSink();
    const acked: string[] = [];
    const writer = new MessageWriter(sink);
    writer.write(message('a', acked));
    writer.write(message('b', acked));
    writer.detach();
    expect(acked).toEqual(['a']);
    writer.halfClose();
    sink.completeWrite();
    expect(sink.events).toEqual(['message a']);
    expect(acked).toEqual(['a']);
  });

  it('a sink that completes writes at once (a discarded attempt) gets every message, then one half-close', () => {
    const events: string[] = [];
    const sink: MessageSink = {
      sendMessageWithContext: (context, m) => {
        events.push(`message ${m.toString()}`);
        context.callback?.();
      },
      halfClose: () => events.push('halfClose'),
    };
    const acked: string[] = [];
    const writer = new MessageWriter(sink);
    writer.write(message('a', acked));
    writer.write(message('b', acked));
    writer.halfClose();
    expect(events).toEqual(['message a', 'message b', 'halfClose']);
    expect(acked).toEqual(['a', 'b']);
  });
});
