interface EdfEntry<T> {
  readonly item: T;
  deadline: number;
  /** Insertion order, so equal deadlines are served FIFO (deterministic, like Envoy's order_offset). */
  seq: number;
}

/**
 * Earliest-deadline-first scheduler, the structure Envoy uses for weighted round
 * robin, weighted least request and locality picking: an item of weight w is
 * due every 1/w time units, so over time each item is picked in proportion to
 * its weight, smoothly interleaved. A binary heap makes `pick` O(log n); the
 * entry objects are reused, so picking allocates nothing.
 *
 * `weightOf` is re-read each time an item is rescheduled, which is what lets
 * weighted least request react to in-flight counts.
 */
export class EdfScheduler<T> {
  readonly #heap: EdfEntry<T>[];
  readonly #weightOf: (item: T) => number;
  #seq = 0;

  constructor(items: readonly T[], weightOf: (item: T) => number) {
    this.#weightOf = weightOf;
    this.#heap = [];
    for (const item of items) {
      const weight = weightOf(item);
      if (weight > 0) this.#heap.push({ item, deadline: 1 / weight, seq: this.#seq++ });
    }
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  get size(): number {
    return this.#heap.length;
  }

  /** The due item; it is rescheduled 1/weight later. */
  pick(): T | undefined {
    const top = this.#heap[0];
    if (top === undefined) return undefined;
    const weight = this.#weightOf(top.item);
    // A weight that dropped to 0 is parked far in the future rather than removed, so the heap stays fixed-size.
    top.deadline += weight > 0 ? 1 / weight : Number.MAX_SAFE_INTEGER;
    top.seq = this.#seq++;
    this.#siftDown(0);
    return top.item;
  }

  #less(a: EdfEntry<T>, b: EdfEntry<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const n = heap.length;
    let i = index;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = r < n && this.#less(heap[r]!, heap[l]!) ? r : l;
      if (!this.#less(heap[m]!, heap[i]!)) return;
      const tmp = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = tmp;
      i = m;
    }
  }
}
