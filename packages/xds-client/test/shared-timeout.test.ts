import { describe, expect, it } from 'vitest';
import { SharedTimeout, type TimeoutMember } from '../src/client/SharedTimeout.js';

const member = (name: string): TimeoutMember & { name: string } => ({ name, timer: undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SharedTimeout (one does-not-exist timer per subscription request)', () => {
  it('expires, in order, only the members still waiting when it fires', async () => {
    const [a, b, c] = [member('a'), member('b'), member('c')];
    const expired: string[] = [];
    const t = SharedTimeout.start([a, b, c], 20, (m) => expired.push(m.name));
    expect([a.timer, b.timer, c.timer]).toStrictEqual([t, t, t]);
    SharedTimeout.stop(b);
    expect(b.timer).toBeUndefined();
    await sleep(300);
    expect(expired).toStrictEqual(['a', 'c']);
    expect([a.timer, c.timer]).toStrictEqual([undefined, undefined]);
  });

  it('never fires once every member has stopped waiting', async () => {
    const members = [member('a'), member('b')];
    const expired: string[] = [];
    SharedTimeout.start(members, 20, (m) => expired.push(m.name));
    for (const m of members) SharedTimeout.stop(m);
    SharedTimeout.stop(members[0]!); // stopping twice is harmless
    await sleep(300);
    expect(expired).toStrictEqual([]);
  });

  it('leaves a member that moved to a newer timer to that timer', async () => {
    const a = member('a');
    const expired: string[] = [];
    SharedTimeout.start([a], 20, () => expired.push('old'));
    SharedTimeout.stop(a);
    SharedTimeout.start([a], 60, () => expired.push('new'));
    await sleep(400);
    expect(expired).toStrictEqual(['new']);
  });
});
