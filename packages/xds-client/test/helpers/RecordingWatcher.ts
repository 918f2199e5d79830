import type { ResourceWatcher } from '../../src/client/ResourceSource.js';

export type WatchEvent<T> =
  | { readonly kind: 'resource'; readonly resource: T; readonly version: string }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'does-not-exist' };

/** A watcher that records every callback and lets a test await the next one. */
export class RecordingWatcher<T> implements ResourceWatcher<T> {
  readonly events: WatchEvent<T>[] = [];
  private cursor = 0;
  private wake: (() => void) | undefined;

  onResource(resource: T, meta: { readonly version: string }): void {
    this.push({ kind: 'resource', resource, version: meta.version });
  }

  onError(error: Error): void {
    this.push({ kind: 'error', error });
  }

  onDoesNotExist(): void {
    this.push({ kind: 'does-not-exist' });
  }

  /** The next event not yet consumed, waiting up to `timeoutMs` for it. */
  async next(timeoutMs = 5000): Promise<WatchEvent<T>> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.events.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watcher event within ${timeoutMs} ms (seen: ${JSON.stringify(this.events.map((e) => e.kind))})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.events[this.cursor++]!;
  }

  /** Skips events until one of `kind` arrives. */
  async nextOf<K extends WatchEvent<T>['kind']>(kind: K, timeoutMs = 5000): Promise<Extract<WatchEvent<T>, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await this.next(Math.max(1, deadline - Date.now()));
      if (e.kind === kind) return e as Extract<WatchEvent<T>, { kind: K }>;
    }
  }

  /** Events not consumed yet. */
  get pending(): readonly WatchEvent<T>[] {
    return this.events.slice(this.cursor);
  }

  private push(event: WatchEvent<T>): void {
    this.events.push(event);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Polls until `check` returns a truthy value. */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets queued microtasks and a macrotask turn run (to assert that nothing happened). */
export function settle(ms = 50): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
