import { describe, expect, it } from 'vitest';
import { AttemptStop } from '../../src/call/AttemptStop.js';

describe('AttemptStop', () => {
  it('tells its listeners once, with the first reason; one registered after the stop is told at once', () => {
    const s = new AttemptStop();
    const told: string[] = [];
    s.onStop((r) => void told.push(`fn ${r.message}`));
    s.onStop({ attemptStopped: (r) => void told.push(`obj ${r.message}`) });
    expect(told).toEqual([]);
    s.stop(new Error('per-try timeout'));
    s.stop(new Error('cancelled'));
    expect(told).toEqual(['fn per-try timeout', 'obj per-try timeout']);
    s.onStop((r) => void told.push(`late ${r.message}`));
    expect(told).toEqual(['fn per-try timeout', 'obj per-try timeout', 'late per-try timeout']);
  });

  it('its signal, read before or after the stop, is aborted with the reason', () => {
    const before = new AttemptStop();
    const signal = before.signal;
    expect(signal.aborted).toBe(false);
    expect(before.signal).toBe(signal);
    const reason = new Error('route timeout');
    before.stop(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);

    const after = new AttemptStop();
    after.stop(reason);
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBe(reason);
  });

  it('an attempt never stopped tells nobody and its signal stays open', () => {
    const s = new AttemptStop();
    let told = false;
    s.onStop(() => void (told = true));
    expect(s.signal.aborted).toBe(false);
    expect(told).toBe(false);
  });
});
