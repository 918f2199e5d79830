import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  ClusterLoadAssignmentResource,
  ClusterResource,
  LISTENER_TYPE_URL,
  ListenerResource,
  ROUTE_CONFIGURATION_TYPE_URL,
  RouteConfigurationResource,
  StaticResourceSource,
  encodeAny,
  type Disposable,
  type ResourceSource,
  type ResourceType,
  type ResourceWatcher,
  type WatchOptions,
} from '@meshlet/xds-client';
import { translateMesh, type TranslatedMesh } from '../istio/index.js';

const ALL_TYPES = [LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, CLUSTER_TYPE_URL, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL];

export interface MeshFileSourceOptions {
  /** Reload when the file changes (default true). */
  readonly watch?: boolean;
  /** Debounce for editors that write a file in several steps (default 100 ms). */
  readonly debounceMs?: number;
  /** Told about every reload: the error when the new file was rejected (the previous config keeps serving). */
  readonly onReload?: (result: { ok: true; mesh: TranslatedMesh } | { ok: false; error: Error }) => void;
}

/**
 * The embedded default: a mesh.yaml of Istio resources, translated in-process to
 * the xDS resources istiod would send and served to the Mesh with no control
 * plane at all. A bad edit is reported and the last good config keeps serving.
 */
export class MeshFileSource implements ResourceSource {
  readonly path: string;
  private readonly store = new StaticResourceSource();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  mesh: TranslatedMesh;

  /** Loads the file now; throws MeshConfigError (file, line, field, fix) if the first load is bad. */
  constructor(path: string, private readonly options: MeshFileSourceOptions = {}) {
    this.path = resolve(path);
    this.mesh = this.load(readFileSync(this.path, 'utf8'));
    if (options.watch !== false) this.startWatching();
  }

  watch<T>(type: ResourceType<T>, name: string, watcher: ResourceWatcher<T>, options?: WatchOptions): Disposable {
    return this.store.watch(type, name, watcher, options);
  }

  /** Re-reads the file (also called on change). Returns false when the new content was rejected. */
  reload(): boolean {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      this.fail(new Error(`meshlet: cannot read ${this.path}: ${(error as Error).message}`));
      return false;
    }
    if (text === this.lastText) return true;
    try {
      this.mesh = this.load(text);
      this.options.onReload?.({ ok: true, mesh: this.mesh });
      return true;
    } catch (error) {
      this.fail(error as Error);
      return false;
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
  }

  private load(text: string): TranslatedMesh {
    const mesh = translateMesh(text, { file: this.path });
    // Validate everything before swapping anything, so a bad file changes nothing.
    const decoded = {
      listeners: decodeAll(ListenerResource, mesh.listeners, this.path),
      routes: decodeAll(RouteConfigurationResource, mesh.routes, this.path),
      clusters: decodeAll(ClusterResource, mesh.clusters, this.path),
      endpoints: decodeAll(ClusterLoadAssignmentResource, mesh.endpoints, this.path),
    };
    // Order matters for consistency: endpoints and clusters first, so a listener or
    // route that starts naming a new cluster finds it already present.
    this.store.replace(ClusterLoadAssignmentResource, decoded.endpoints);
    this.store.replace(ClusterResource, decoded.clusters);
    this.store.replace(RouteConfigurationResource, decoded.routes);
    this.store.replace(ListenerResource, decoded.listeners);
    this.lastText = text;
    return mesh;
  }

  private fail(error: Error): void {
    this.store.reportError(ALL_TYPES, error);
    this.options.onReload?.({ ok: false, error });
  }

  private startWatching(): void {
    // Watch the directory, not the file: editors often replace the file (rename),
    // which ends a file watch.
    const file = basename(this.path);
    this.watcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
      if (changed && changed.toString() !== file) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reload(), this.options.debounceMs ?? 100);
      this.timer.unref();
    });
  }
}

function decodeAll<T>(type: ResourceType<T>, objects: readonly object[], file: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const obj of objects) {
    try {
      // Through the wire encoding, exactly as an ADS client would receive it from istiod.
      const { name, resource } = type.decode(encodeAny(type.typeUrl, obj as Record<string, unknown>));
      out.set(name, resource);
    } catch (error) {
      // A translator bug, not a user error: say so, with the resource and field.
      throw new Error(`meshlet: ${file}: translated ${type.shortName} resource is invalid (please report): ${(error as Error).message}`);
    }
  }
  return out;
}
