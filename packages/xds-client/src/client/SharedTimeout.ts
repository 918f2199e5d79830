/** Something that waits on a SharedTimeout: the timeout it waits on, or undefined. */
export interface TimeoutMember {
  timer: SharedTimeout | undefined;
}

/**
 * One timer for a group of members that start waiting together, such as the resources of one
 * subscription request waiting for the does-not-exist verdict (gRFC A27). A 10,000-cluster push
 * otherwise arms (and, as the resources arrive, clears) 10,000 timers for one request.
 *
 * When it fires, `expire` runs, in order, for each member still waiting on it. A member stops
 * waiting with SharedTimeout.stop; once no member waits, the timer is cleared, so nothing holds
 * the group or keeps a timer pending after the last one is answered.
 */
export class SharedTimeout {
  private waiting: number;
  private readonly handle: NodeJS.Timeout;

  /** Arms one timer for `members`, which must not be waiting on another. */
  static start<T extends TimeoutMember>(members: readonly T[], timeoutMs: number, expire: (member: T) => void): SharedTimeout {
    return new SharedTimeout(members, timeoutMs, expire);
  }

  private constructor(members: readonly TimeoutMember[], timeoutMs: number, expire: (member: never) => void) {
    this.waiting = members.length;
    for (const m of members) m.timer = this;
    this.handle = setTimeout(() => {
      for (const m of members) {
        if (m.timer !== this) continue;
        m.timer = undefined;
        (expire as (member: TimeoutMember) => void)(m);
      }
    }, timeoutMs);
    this.handle.unref();
  }

  /** `member` no longer waits (answered, unwatched, or its stream lost). */
  static stop(member: TimeoutMember): void {
    const t = member.timer;
    if (t === undefined) return;
    member.timer = undefined;
    if (--t.waiting === 0) clearTimeout(t.handle);
  }
}
