import { readFileSync } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AnyMessage } from '../proto/EnvoyProtos.js';
import { isDeferredAssignment } from '../resources/endpoint/DeferredEndpoints.js';
import type { Logger } from './Logger.js';

export interface LastKnownGoodOptions {
  /** The file to read at start and rewrite (temp file + rename) when ACKed resources change. */
  readonly path: string;
  /** Writes are coalesced over this window (default 1000 ms). */
  readonly debounceMs?: number;
}

/** One ACKed resource as it is kept on disk. */
export interface LastKnownGoodRecord {
  readonly typeUrl: string;
  readonly name: string;
  readonly version: string;
  readonly any: AnyMessage;
  /** When the file holding it was written (the record's age when served from disk). */
  readonly writtenAt: Date;
}

const FORMAT = 'meshlet.xds.last-known-good.v1';

interface FileShape {
  format: string;
  written_at: string;
  resources: { type_url: string; name: string; version: string; any_type_url: string; any_value_base64: string }[];
}

/**
 * Opt-in "last known good" cache on disk: every resource the client ACKed, as the encoded
 * Any it received (base64) with its type and version, so a process that starts while the
 * control plane is down can come up with the config it last had.
 *
 * - Writes are atomic (write a temp file in the same directory, then rename over the
 *   target) and debounced; the file is created 0600.
 * - Secrets: the xDS resources Meshlet consumes carry no private keys (TLS material comes
 *   from certificate providers, gRFC A29). Envoy's API does allow an inline
 *   `tls_certificates[].private_key`, so any resource whose typed form holds an inline
 *   private key is never persisted (see containsInlinePrivateKey).
 * - The file only grows by ACKs and shrinks by server deletions; ending a watch does not
 *   drop a resource (a shutdown ends every watch, and the next start needs them).
 */
export class LastKnownGoodStore {
  readonly path: string;
  private readonly debounceMs: number;
  private readonly logger: Logger;
  /** typeUrl -> name -> record. */
  private readonly records = new Map<string, Map<string, LastKnownGoodRecord>>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;
  /** Completed writes, for tests and diagnostics. */
  writes = 0;

  constructor(options: LastKnownGoodOptions, logger: Logger) {
    this.path = options.path;
    this.debounceMs = options.debounceMs ?? 1000;
    this.logger = logger;
    this.load();
  }

  get(typeUrl: string, name: string): LastKnownGoodRecord | undefined {
    return this.records.get(typeUrl)?.get(name);
  }

  get size(): number {
    let n = 0;
    for (const byName of this.records.values()) n += byName.size;
    return n;
  }

  /** Records an ACKed resource; schedules a write when its version or bytes changed. */
  put(typeUrl: string, name: string, version: string, any: AnyMessage, typed: unknown): void {
    if (this.closed) return;
    if (containsInlinePrivateKey(typed)) {
      this.logger.warn('last-known-good: not persisting a resource that carries an inline private key', { typeUrl, name });
      this.remove(typeUrl, name);
      return;
    }
    const old = this.get(typeUrl, name);
    if (old && old.version === version && old.any.type_url === any.type_url && Buffer.from(old.any.value).equals(Buffer.from(any.value))) return;
    let byName = this.records.get(typeUrl);
    if (!byName) this.records.set(typeUrl, (byName = new Map()));
    byName.set(name, { typeUrl, name, version, any: { type_url: any.type_url, value: Buffer.from(any.value) }, writtenAt: new Date() });
    this.schedule();
  }

  /** The server deleted the resource: forget it. */
  remove(typeUrl: string, name: string): void {
    if (this.closed) return;
    if (this.records.get(typeUrl)?.delete(name)) this.schedule();
  }

  /** Writes any pending change now and waits for it. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty) this.writing = this.writing.then(() => this.write());
    await this.writing;
  }

  /** Flushes pending changes; later puts are ignored. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    await this.flush();
    this.closed = true;
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.write());
    }, this.debounceMs);
    // A pending write never keeps the process alive; close() flushes it.
    this.timer.unref();
  }

  private async write(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const file: FileShape = { format: FORMAT, written_at: new Date().toISOString(), resources: [] };
    for (const byName of this.records.values()) {
      for (const r of byName.values()) {
        file.resources.push({ type_url: r.typeUrl, name: r.name, version: r.version, any_type_url: r.any.type_url, any_value_base64: Buffer.from(r.any.value).toString('base64') });
      }
    }
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(tmp, JSON.stringify(file), { mode: 0o600 });
      await rename(tmp, this.path);
      this.writes += 1;
    } catch (error) {
      this.dirty = true; // try again with the next change or flush
      this.logger.warn('last-known-good: could not write the cache file', { path: this.path, error });
      await unlink(tmp).catch(() => {});
    }
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn('last-known-good: could not read the cache file', { path: this.path, error });
      return;
    }
    try {
      const file = JSON.parse(text) as FileShape;
      if (file?.format !== FORMAT || !Array.isArray(file.resources)) throw new Error(`not a ${FORMAT} file`);
      const writtenAt = new Date(file.written_at);
      for (const r of file.resources) {
        if (typeof r?.type_url !== 'string' || typeof r.name !== 'string' || typeof r.version !== 'string' || typeof r.any_type_url !== 'string' || typeof r.any_value_base64 !== 'string') continue;
        let byName = this.records.get(r.type_url);
        if (!byName) this.records.set(r.type_url, (byName = new Map()));
        byName.set(r.name, { typeUrl: r.type_url, name: r.name, version: r.version, any: { type_url: r.any_type_url, value: Buffer.from(r.any_value_base64, 'base64') }, writtenAt });
      }
      this.logger.info('last-known-good: loaded', { path: this.path, resources: this.size, writtenAt: file.written_at });
    } catch (error) {
      // A corrupt file is ignored (and replaced on the next write), never fatal.
      this.records.clear();
      this.logger.warn('last-known-good: ignoring an unreadable cache file', { path: this.path, error });
    }
  }
}

/** True when a typed resource holds an inline private key (Envoy DataSource inline_string / inline_bytes). */
export function containsInlinePrivateKey(value: unknown, seen = new Set<object>()): boolean {
  if (value === null || typeof value !== 'object' || seen.has(value)) return false;
  seen.add(value);
  // A deferred CLA holds no key material (see isDeferredAssignment): walking it would build the
  // endpoints of every cluster of a large push just to write the file.
  if (ArrayBuffer.isView(value) || isDeferredAssignment(value)) return false;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'private_key' && v && typeof v === 'object' && ('inline_string' in v || 'inline_bytes' in v)) {
      const s = v as { inline_string?: unknown; inline_bytes?: unknown };
      if (s.inline_string !== undefined || s.inline_bytes !== undefined) return true;
    }
    if (containsInlinePrivateKey(v, seen)) return true;
  }
  return false;
}
