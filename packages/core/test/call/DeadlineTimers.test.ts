import { describe, expect, it } from 'vitest';
import { Deadline, DeadlineTimers, type DeadlineOwner } from '../../src/call/DeadlineTimers.js';

const now = (): number => performance.now();

/** Records which deadlines fired, and when, against the time each was due. */
function recorder(): DeadlineOwner & { fired: Array<{ d: Deadline; at: number }> } {
  const fired: Array<{ d: Deadline; at: number }> = [];
  return { fired, onDeadline: (d) => void fired.push({ d, at: now() }) };
}

const until = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('DeadlineTimers', () => {
  it('fires armed deadlines in expiry order, never before they are due, and not the cancelled ones', async () => {
    const timers = new DeadlineTimers(now);
    const owner = recorder();
    const [a, b, c] = [new Deadline(owner), new Deadline(owner), new Deadline(owner)];
    const due = new Map<Deadline, number>();
    for (const d of [a, b, c]) {
      const start = now();
      due.set(d, start + 40);
      timers.arm(d, 40, start);
      await new Promise((r) => setTimeout(r, 10));
    }
    b.cancel();
    expect(b.armed).toBe(false);
    await until(() => owner.fired.length === 2);
    await new Promise((r) => setTimeout(r, 60));
    expect(owner.fired.map((f) => f.d)).toEqual([a, c]);
    for (const f of owner.fired) expect(f.at).toBeGreaterThanOrEqual(due.get(f.d)!);
    expect(a.armed || c.armed).toBe(false);
  });

  it('re-arms the same Deadline object after it fired or was cancelled (one object per call, reused per attempt)', async () => {
    const timers = new DeadlineTimers(now);
    const owner = recorder();
    const d = new Deadline(owner);
    timers.arm(d, 20, now());
    await until(() => owner.fired.length === 1);
    timers.arm(d, 20, now());
    d.cancel();
    timers.arm(d, 20, now());
    await until(() => owner.fired.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(owner.fired).toHaveLength(2);
  });

  it('a deadline due earlier than those already armed on its list fires first', async () => {
    const timers = new DeadlineTimers(now);
    const owner = recorder();
    const late = new Deadline(owner);
    const early = new Deadline(owner);
    // Due at 300 and 30 ms from now: a node's start may lie in the past or the future of the clock.
    timers.arm(late, 100, now() + 200);
    timers.arm(early, 100, now() - 70);
    await until(() => owner.fired.length === 1);
    expect(owner.fired[0]!.d).toBe(early);
    expect(late.armed).toBe(true);
    late.cancel();
  });

  it('keeps firing deadlines armed by another deadline firing', async () => {
    const timers = new DeadlineTimers(now);
    const fired: number[] = [];
    const second = new Deadline({ onDeadline: () => void fired.push(2) });
    const first = new Deadline({
      onDeadline: () => {
        fired.push(1);
        timers.arm(second, 25, now());
      },
    });
    timers.arm(first, 25, now());
    await until(() => fired.length === 2);
    expect(fired).toEqual([1, 2]);
  });
});
