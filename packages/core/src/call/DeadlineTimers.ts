/** Told when one of its deadlines passes. */
export interface DeadlineOwner {
  onDeadline(deadline: Deadline): void;
}

/**
 * What the engine's timers link into their lists: a Deadline, or an object with one timer that is its own
 * node (a DirectCall: no second object per call for its timer). The four link fields start as 0 and
 * undefined and belong to DeadlineTimers.
 */
export interface DeadlineNode {
  /** @internal */ expiresAt: number;
  /** @internal */ prev: DeadlineNode | undefined;
  /** @internal */ next: DeadlineNode | undefined;
  /** @internal the list it is armed on, while armed. */ list: DeadlineList | undefined;
  /** Its time passed (it is no longer armed). */
  deadlinePassed(): void;
}

/** Disarms `d` (no-op when not armed). */
export function disarm(d: DeadlineNode): void {
  d.list?.remove(d);
}

/**
 * One deadline a call arms on the engine's DeadlineTimers. Reusable: a call keeps the same object
 * for its route deadline and for every attempt's per-try timeout, so arming costs no allocation.
 */
export class Deadline implements DeadlineNode {
  /** @internal */ expiresAt = 0;
  /** @internal */ prev: DeadlineNode | undefined = undefined;
  /** @internal */ next: DeadlineNode | undefined = undefined;
  /** @internal */ list: DeadlineList | undefined = undefined;

  constructor(readonly owner: DeadlineOwner) {}

  get armed(): boolean {
    return this.list !== undefined;
  }

  /** Disarms it (no-op when not armed). */
  cancel(): void {
    disarm(this);
  }

  deadlinePassed(): void {
    this.owner.onDeadline(this);
  }
}

/**
 * Deadlines of one timeout value, kept sorted by expiry, with one Node timer for the earliest.
 * Deadlines of the same value are armed in time order, so insertion is at the tail.
 */
/** @internal */
export class DeadlineList {
  private head: DeadlineNode | undefined;
  private tail: DeadlineNode | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires (ms on the engine clock). */
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly now: () => number) {}

  add(d: DeadlineNode, expiresAt: number): void {
    d.expiresAt = expiresAt;
    d.list = this;
    let after = this.tail;
    while (after !== undefined && after.expiresAt > expiresAt) after = after.prev;
    d.prev = after;
    d.next = after === undefined ? this.head : after.next;
    if (d.next === undefined) this.tail = d;
    else d.next.prev = d;
    if (after === undefined) this.head = d;
    else after.next = d;
    if (this.timer === undefined || this.timerAt > expiresAt) this.arm(expiresAt);
    // The timer was left unreferenced while the list was empty (see remove()).
    else if (this.head === d && this.tail === d) this.timer.ref();
  }

  remove(d: DeadlineNode): void {
    if (d.prev === undefined) this.head = d.next;
    else d.prev.next = d.next;
    if (d.next === undefined) this.tail = d.prev;
    else d.next.prev = d.prev;
    d.prev = d.next = d.list = undefined;
    // Leave the timer armed (no clear and re-create per call), but let the process exit while
    // nothing waits on it. It fires at the old head's time, finds nothing due and re-arms.
    if (this.head === undefined) this.timer?.unref();
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - this.now())));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    for (let d = this.head; d !== undefined && d.expiresAt <= now; d = this.head) {
      this.remove(d);
      d.deadlinePassed();
    }
    // onDeadline may have armed deadlines of its own; add() then armed the timer already.
    if (this.head !== undefined && this.timer === undefined) this.arm(this.head.expiresAt);
  };
}

/**
 * The call engine's timeouts: one Node timer per distinct timeout value (a route's timeout, a
 * per_try_timeout), shared by every call using it, instead of a setTimeout per attempt and per call.
 * Arming and disarming a deadline is a list link and unlink.
 */
export class DeadlineTimers {
  private readonly lists = new Map<number, DeadlineList>();

  constructor(private readonly now: () => number) {}

  /** Arms `d` to pass at `expiresAt` (engine clock); `durationMs` picks the list (the timeout value it comes from). */
  arm(d: DeadlineNode, durationMs: number, expiresAt: number): void {
    disarm(d);
    let list = this.lists.get(durationMs);
    if (list === undefined) {
      list = new DeadlineList(this.now);
      this.lists.set(durationMs, list);
    }
    list.add(d, expiresAt);
  }
}
