import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Disposable, ResourceSource, ResourceWatcher, WatchOptions } from '../client/ResourceSource.js';
import type { ResourceType } from '../resources/ResourceType.js';
import type { ProtoJsonOptions } from '../proto/ProtoJson.js';
import { parseResourceFileText, ResourceFileError } from './ResourceFile.js';
import type { DecodedResource } from './ResourceJson.js';

export interface FileSourceOptions extends ProtoJsonOptions {
  /** Quiet period after the last change before reloading (editors write in several steps). Default 100 ms. */
  readonly debounceMs?: number;
  /** Called for every rejected file, in addition to watchers' onError. */
  readonly onError?: (error: ResourceFileError) => void;
}

interface Subscription {
  readonly type: ResourceType<unknown>;
  readonly name: string;
  readonly watcher: ResourceWatcher<unknown>;
  /** What this watcher was last told: a resource, "does not exist", or nothing yet. */
  last: { resource: unknown } | 'absent' | undefined;
}

interface FileState {
  readonly path: string;
  /** The last good content; undefined until the file first validates. */
  good?: DecodedResource[];
}

/**
 * A ResourceSource over JSON/YAML files of xDS resources, for running without
 * a control plane. Semantics mirror an xDS client (gRFC A27 watchers):
 * - every change is validated exactly like an ADS response;
 * - keep-last-good: a file that fails to read, parse or validate leaves its
 *   previous resources in force and every watcher gets onError naming the file,
 *   resource and field path (a deleted file counts as failing, since editors
 *   often delete and recreate);
 * - a resource that disappears from a valid file -> onDoesNotExist;
 * - an unchanged resource does not wake its watchers.
 * The directory, not the file, is watched so atomic-rename saves are seen.
 * When several files define the same resource, the later file in the list wins.
 */
export class FileSource implements ResourceSource {
  private readonly files: FileState[];
  private readonly subs = new Set<Subscription>();
  private readonly fsWatchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private version = 0;
  private loaded = false;
  private closed = false;
  private readonly firstLoad: Promise<void>;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    paths: string | readonly string[],
    private readonly options: FileSourceOptions = {},
  ) {
    this.files = (typeof paths === 'string' ? [paths] : paths).map((p) => ({ path: resolve(p) }));
    for (const dir of new Set(this.files.map((f) => dirname(f.path)))) {
      const names = new Set(this.files.filter((f) => dirname(f.path) === dir).map((f) => basename(f.path)));
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        // filename can be null on some platforms: reload to be safe.
        if (filename === null || names.has(filename.toString())) this.schedule();
      });
      w.on('error', () => this.schedule());
      this.fsWatchers.push(w);
    }
    this.firstLoad = this.reload();
  }

  /** Resolves once the files have been read (successfully or not) for the first time. */
  ready(): Promise<void> {
    return this.firstLoad;
  }

  /** Re-reads the files now (also what the file watcher triggers after its debounce). */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.doReload());
    return this.reloading;
  }

  watch<T>(type: ResourceType<T>, name: string, watcher: ResourceWatcher<T>, options?: WatchOptions): Disposable {
    const sub: Subscription = { type: type as ResourceType<unknown>, name, watcher: watcher as ResourceWatcher<unknown>, last: undefined };
    this.subs.add(sub);
    const dispose = () => {
      this.subs.delete(sub);
      options?.signal?.removeEventListener('abort', dispose);
    };
    if (options?.signal?.aborted) {
      dispose();
      return { dispose };
    }
    options?.signal?.addEventListener('abort', dispose, { once: true });
    // Deliver the current state asynchronously, never from inside watch() itself.
    if (this.loaded) queueMicrotask(() => this.subs.has(sub) && this.deliver(sub, this.merged()));
    return { dispose };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.fsWatchers) w.close();
    this.fsWatchers.length = 0;
    this.subs.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, this.options.debounceMs ?? 100);
  }

  private async doReload(): Promise<void> {
    if (this.closed) return;
    const errors: ResourceFileError[] = [];
    for (const f of this.files) {
      let text: string;
      try {
        text = await readFile(f.path, 'utf8');
      } catch (err) {
        errors.push(new ResourceFileError(f.path, '', `cannot read: ${(err as Error).message}`));
        continue;
      }
      try {
        f.good = parseResourceFileText(f.path, text, this.options);
      } catch (err) {
        if (err instanceof ResourceFileError) errors.push(err);
        else errors.push(new ResourceFileError(f.path, '', `unexpected error: ${(err as Error).message}`));
      }
    }
    if (this.closed) return;
    this.version++;
    this.loaded = true;
    for (const e of errors) {
      this.options.onError?.(e);
      for (const s of [...this.subs]) s.watcher.onError?.(e);
    }
    const merged = this.merged();
    for (const s of [...this.subs]) if (this.subs.has(s)) this.deliver(s, merged);
  }

  /** type URL + name -> resource, over every file's last good content. */
  private merged(): Map<string, unknown> {
    const m = new Map<string, unknown>();
    for (const f of this.files) for (const r of f.good ?? []) m.set(`${r.type.typeUrl}\u0000${r.name}`, r.resource);
    return m;
  }

  private deliver(s: Subscription, merged: Map<string, unknown>): void {
    const k = `${s.type.typeUrl}\u0000${s.name}`;
    if (merged.has(k)) {
      const resource = merged.get(k);
      if (s.last !== undefined && s.last !== 'absent' && s.type.equal(s.last.resource, resource)) return;
      s.last = { resource };
      s.watcher.onResource(resource, { version: String(this.version) });
      return;
    }
    // Only a file that was read successfully can say a resource does not exist.
    if (!this.files.some((f) => f.good !== undefined) || s.last === 'absent') return;
    s.last = 'absent';
    s.watcher.onDoesNotExist?.();
  }
}
