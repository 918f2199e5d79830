import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ReplayableBody } from '../src/ReplayableBody.js';

describe('ReplayableBody', () => {
  it('gives every attempt a body that is replayable as it is (none, null, a string, bytes), again and again', () => {
    for (const body of [undefined, null, 'text', Buffer.from('bytes')]) {
      const b = ReplayableBody.ofReplayable(body)!;
      expect(b.replayable).toBe(true);
      for (let attempt = 0; attempt < 3; attempt++) expect(b.take()).toBe(body);
    }
    // No body is the common case: one shared instance each for undefined and null, which taking never changes.
    expect(ReplayableBody.ofReplayable(undefined)).toBe(ReplayableBody.ofReplayable(undefined));
    expect(ReplayableBody.ofReplayable(null)).toBe(ReplayableBody.ofReplayable(null));
    expect(ReplayableBody.ofReplayable(undefined)!.bytes).toBe(0);
    expect(ReplayableBody.ofReplayable(null)!.bytes).toBe(0);
  });

  it('sends a body too large to hold once, and refuses to send it again', async () => {
    const chunks = [Buffer.alloc(600), Buffer.alloc(600)];
    const b = await ReplayableBody.from(Readable.from(chunks), 1000);
    expect(b.replayable).toBe(false);
    b.take();
    expect(() => b.take()).toThrow(/not replayable/);
  });
});
