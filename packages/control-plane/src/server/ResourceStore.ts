import { createHash } from 'node:crypto';
import { encodeAny, typeNameOf, type AnyMessage } from '@meshlet/xds-client';

/** One served resource: its encoded Any and the delta-xDS version derived from those bytes. */
export interface StoredResource {
  readonly name: string;
  readonly any: AnyMessage;
  /** Stable hash of the encoded bytes: equal content gives an equal version across restarts. */
  readonly version: string;
}

interface TypeEntry {
  version: string;
  resources: Map<string, StoredResource>;
}

const EMPTY: ReadonlyMap<string, StoredResource> = new Map();

function isAny(value: unknown): value is AnyMessage {
  const v = value as Partial<AnyMessage> | null;
  return typeof v === 'object' && v !== null && typeof v.type_url === 'string' && v.value instanceof Uint8Array;
}

/** Content hash used as the per-resource version in delta xDS (Resource.version). */
export function resourceVersionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
}

/**
 * The server's resources, by type URL then name, plus one state-of-the-world
 * `version_info` per type. Versions come from one counter shared by all types, so a
 * version string never repeats for a type within a server's lifetime.
 */
export class ResourceStore {
  readonly #types = new Map<string, TypeEntry>();
  #counter = 0;

  /** The SotW version of a type; '' until it is first set. */
  version(typeUrl: string): string {
    return this.#types.get(typeUrl)?.version ?? '';
  }

  all(typeUrl: string): ReadonlyMap<string, StoredResource> {
    return this.#types.get(typeUrl)?.resources ?? EMPTY;
  }

  get(typeUrl: string, name: string): StoredResource | undefined {
    return this.#types.get(typeUrl)?.resources.get(name);
  }

  replace(typeUrl: string, resources: Record<string, AnyMessage | Record<string, unknown>>, version?: string): void {
    const map = new Map<string, StoredResource>();
    for (const [name, value] of Object.entries(resources)) {
      const any = toAny(typeUrl, value);
      map.set(name, { name, any, version: resourceVersionOf(any.value) });
    }
    this.#types.set(typeUrl, { version: version ?? this.#nextVersion(), resources: map });
  }

  /**
   * Adds or replaces the given resources and leaves every other one of the type as it is.
   * Returns the names whose bytes changed; the type's version moves only if there are any.
   * Costs O(given resources), not O(all of the type), so one change among thousands is cheap.
   */
  upsert(typeUrl: string, resources: Record<string, AnyMessage | Record<string, unknown>>, version?: string): string[] {
    // Encode everything first, so a bad resource leaves the type as it was.
    const staged: StoredResource[] = [];
    for (const [name, value] of Object.entries(resources)) {
      const any = toAny(typeUrl, value);
      staged.push({ name, any, version: resourceVersionOf(any.value) });
    }
    let entry = this.#types.get(typeUrl);
    const changed: string[] = [];
    for (const resource of staged) {
      if (entry?.resources.get(resource.name)?.version === resource.version) continue;
      if (!entry) {
        entry = { version: '', resources: new Map() };
        this.#types.set(typeUrl, entry);
      }
      entry.resources.set(resource.name, resource);
      changed.push(resource.name);
    }
    if (entry && changed.length > 0) entry.version = version ?? this.#nextVersion();
    return changed;
  }

  /** Deletes names; returns those that existed (if any, the type's version moved). */
  remove(typeUrl: string, names: readonly string[], version?: string): string[] {
    const entry = this.#types.get(typeUrl);
    const removed: string[] = [];
    if (!entry) return removed;
    for (const name of names) if (entry.resources.delete(name)) removed.push(name);
    if (removed.length > 0) entry.version = version ?? this.#nextVersion();
    return removed;
  }

  #nextVersion(): string {
    this.#counter += 1;
    return String(this.#counter);
  }
}

function toAny(typeUrl: string, value: AnyMessage | Record<string, unknown>): AnyMessage {
  if (isAny(value)) {
    // A resource of another type inside this type's response is a protocol error that the
    // client would NACK; catch the mistake where it is made instead.
    if (typeNameOf(value.type_url) !== typeNameOf(typeUrl)) {
      throw new TypeError(`resource of type ${value.type_url} cannot be served as ${typeUrl}`);
    }
    return { type_url: value.type_url, value: value.value };
  }
  return encodeAny(typeUrl, value);
}
