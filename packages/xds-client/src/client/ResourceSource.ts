import type { ResourceType } from '../resources/ResourceType.js';

export interface Disposable {
  dispose(): void;
}

/**
 * Receives one resource's updates (gRFC A27 watcher semantics):
 * - `onResource` for every new validated version (never for an equal one);
 * - `onError` when an update was NACKed or the stream failed: the last good
 *   resource (if any) is still in force and no action is required. A stream
 *   failure is an `XdsStreamError` (transient); anything else is a rejection
 *   of a resource the source did send (a NACK, a bad file);
 * - `onDoesNotExist` when the server says (or the 15 s timer concludes) the
 *   resource does not exist, or it was deleted (unless ignore_resource_deletion).
 */
export interface ResourceWatcher<T> {
  onResource(resource: T, meta: { readonly version: string }): void;
  onError?(error: Error): void;
  onDoesNotExist?(): void;
}

export interface WatchOptions {
  /** Aborting the signal is the same as calling dispose() on the returned handle. */
  readonly signal?: AbortSignal;
}

/** Anything that can feed typed resources to watchers: the ADS XdsClient, a FileSource. */
export interface ResourceSource {
  watch<T>(type: ResourceType<T>, name: string, watcher: ResourceWatcher<T>, options?: WatchOptions): Disposable;
}
