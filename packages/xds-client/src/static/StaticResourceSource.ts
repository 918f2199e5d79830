import type { Disposable, ResourceSource, ResourceWatcher, WatchOptions } from '../client/ResourceSource.js';
import type { ResourceType } from '../resources/ResourceType.js';

interface Entry {
  resource: unknown;
  version: string;
}

interface Watch {
  readonly type: ResourceType<unknown>;
  readonly name: string;
  readonly watcher: ResourceWatcher<unknown>;
}

/**
 * An in-memory ResourceSource: the whole config is known up front (a translated
 * mesh.yaml, a test, an embedding application), so a missing resource is
 * reported as does-not-exist at once instead of after the 15 s xDS timer.
 *
 * `replace` swaps one type's resources atomically; watchers hear only about
 * resources that changed (ResourceType.equal), as with an ADS stream.
 */
export class StaticResourceSource implements ResourceSource {
  private readonly byType = new Map<string, Map<string, Entry>>();
  private readonly watches = new Set<Watch>();
  private version = 0;

  /** Replaces every resource of `type` with validated models keyed by name. */
  replace<T>(type: ResourceType<T>, resources: ReadonlyMap<string, T> | Record<string, T>, version = String(++this.version)): void {
    const next = new Map<string, Entry>();
    const prev = this.byType.get(type.typeUrl) ?? new Map<string, Entry>();
    const entries = resources instanceof Map ? [...resources] : Object.entries(resources);
    for (const [name, resource] of entries) {
      const old = prev.get(name);
      next.set(name, old && type.equal(old.resource as T, resource) ? old : { resource, version });
    }
    this.byType.set(type.typeUrl, next);
    for (const w of [...this.watches]) {
      if (w.type.typeUrl !== type.typeUrl) continue;
      const before = prev.get(w.name);
      const after = next.get(w.name);
      if (after && after !== before) w.watcher.onResource(after.resource, { version: after.version });
      else if (!after && before) w.watcher.onDoesNotExist?.();
    }
  }

  /** Validates plain proto objects (snake_case) with the type's own validator, then replaces. */
  replaceFromObjects<T>(type: ResourceType<T>, objects: readonly Record<string, unknown>[], version?: string): void {
    const models = new Map<string, T>();
    for (const obj of objects) {
      const { name, resource } = type.fromObject(obj);
      models.set(name, resource);
    }
    this.replace(type, models, version);
  }

  /** Tells the watchers of these types that the source failed to update (last good config stays). */
  reportError(typeUrls: readonly string[], error: Error): void {
    for (const w of [...this.watches]) if (typeUrls.includes(w.type.typeUrl)) w.watcher.onError?.(error);
  }

  get<T>(type: ResourceType<T>, name: string): T | undefined {
    return this.byType.get(type.typeUrl)?.get(name)?.resource as T | undefined;
  }

  names(type: ResourceType<unknown>): string[] {
    return [...(this.byType.get(type.typeUrl)?.keys() ?? [])];
  }

  watch<T>(type: ResourceType<T>, name: string, watcher: ResourceWatcher<T>, options?: WatchOptions): Disposable {
    const w: Watch = { type: type as ResourceType<unknown>, name, watcher: watcher as ResourceWatcher<unknown> };
    this.watches.add(w);
    // Deliver asynchronously, like a cache hit on a real xDS client, so callers
    // can finish wiring before the first callback.
    queueMicrotask(() => {
      if (!this.watches.has(w)) return;
      const entry = this.byType.get(type.typeUrl)?.get(name);
      if (entry) watcher.onResource(entry.resource as T, { version: entry.version });
      else watcher.onDoesNotExist?.();
    });
    const dispose = () => {
      this.watches.delete(w);
      options?.signal?.removeEventListener('abort', dispose);
    };
    options?.signal?.addEventListener('abort', dispose, { once: true });
    return { dispose };
  }
}
