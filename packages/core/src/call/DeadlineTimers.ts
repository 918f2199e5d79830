/** Told when one of its deadlines passes. */
export interface DeadlineOwner {
  onDeadline(deadline: Deadline): void;
}

/**
 * What the engine's timers link into their lists: a Deadline, or an object with one timer that is its own
 * node (a DirectCall: no second object per call for its timer). The four link fields start as 0 and
 * undefined and belong to DeadlineTimers.
 *
 * A node keeps when its period began, not when it passes: its list knows the duration (one list per
 * timeout value). A DirectCall's timer starts with the call, so the call's own start is that field: it
 * keeps no second time, which V8 would box (a double field is a 16-byte HeapNumber of its own per object).
 */
export interface DeadlineNode {
  /** @internal when its period began (engine clock): it passes its list's duration after it. */ start: number;
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
  /** @internal */ start = 0;
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

  constructor(
    private readonly now: () => number,
    /** The timeout every node of this list has: a node passes this long after its start. */
    private readonly durationMs: number,
  ) {}

  add(d: DeadlineNode, start: number): void {
    d.start = start;
    d.list = this;
    const expiresAt = start + this.durationMs;
    // (By start: with one duration for all, that is the order of their expiries.)
    let after = this.tail;
    while (after !== undefined && after.start > start) after = after.prev;
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
    for (let d = this.head; d !== undefined && d.start + this.durationMs <= now; d = this.head) {
      this.remove(d);
      d.deadlinePassed();
    }
    // onDeadline may have armed deadlines of its own; add() then armed the timer already.
    if (this.head !== undefined && this.timer === undefined) this.arm(this.head.start + this.durationMs);
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

  /** Arms `d` to pass `durationMs` after `start` (engine clock); `durationMs` picks the list (one per timeout value). */
  arm(d: DeadlineNode, durationMs: number, start: number): void {
    disarm(d);
    let list = this.lists.get(durationMs);
    if (list === undefined) {
      list = new DeadlineList(this.now, durationMs);
      this.lists.set(durationMs, list);
    }
    list.add(d, start);
  }
}
