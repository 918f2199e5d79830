/**
 * One call's retry_priority `envoy.retry_priorities.previous_priorities` state, made at its first
 * retry. Envoy's rule: each attempt's host priority is recorded; while fewer than `updateFrequency`
 * attempts were made the priority load is the cluster's own; each time the count of attempts is a
 * multiple of it, every priority attempted so far is excluded from the load the next picks use (the
 * cluster's PrioritySet spreads their share over the rest, and ignores the exclusion when nothing
 * healthy would be left).
 */
export class PreviousPriorities {
  private readonly attempted: number[] = [];
  /** What the call's next picks leave out; undefined until the first update. */
  excluded: ReadonlySet<number> | undefined;

  constructor(private readonly updateFrequency: number) {}

  /** Records the priority of an attempt that was made (before the next pick). */
  attemptedOn(priority: number): void {
    const attempted = this.attempted;
    attempted.push(priority);
    if (attempted.length >= this.updateFrequency && attempted.length % this.updateFrequency === 0) this.excluded = new Set(attempted);
  }
}
