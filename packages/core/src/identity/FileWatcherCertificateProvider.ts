import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { validateCertificateMaterial, type CertificateMaterial } from './CertificateMaterial.js';
import { CertificateProviderBase } from './CertificateProviderBase.js';
import { parseProtoJsonDuration } from './ProtoJsonDuration.js';

/** The `file_watcher` plugin config (gRFC A29), as written by istio-agent into the gRPC bootstrap. */
export interface FileWatcherConfig {
  readonly certificate_file?: string;
  readonly private_key_file?: string;
  readonly ca_certificate_file?: string;
  /** ms; gRPC's default is 600 s */
  readonly refresh_interval: number;
}

export const DEFAULT_FILE_WATCHER_REFRESH_MS = 600_000;

/**
 * Until the first good load, failed loads are retried from this delay, doubling up to
 * FIRST_LOAD_RETRY_MAX_MS (never beyond refresh_interval). istio-agent writes the files shortly
 * after the process starts, and connections wait for them: waiting 600 s for the next tick would
 * fail every one of them, and the directory watch misses files whose directory does not exist yet.
 */
const FIRST_LOAD_RETRY_MS = 100;
const FIRST_LOAD_RETRY_MAX_MS = 2_000;

export interface FileWatcherOptions {
  /** Also reload on file-system change events (debounced); default true. The interval always runs. */
  readonly watchFileSystem?: boolean;
  /** ms to wait after a change event before reloading, so a multi-file rotation lands together; default 100. */
  readonly debounceMs?: number;
}

/**
 * Reloads identity and root certificates from files: at `refresh_interval`, and (cheaply) when the
 * directory holding them changes. A load that fails (a half-written file, a key that does not match
 * its certificate, a missing file) keeps the previous material and is reported through onError; the
 * next tick or change event tries again. Rotations show up in `current()` and so apply to new
 * connections only.
 */
export class FileWatcherCertificateProvider extends CertificateProviderBase {
  private readonly timer: NodeJS.Timeout;
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private firstLoadRetry: NodeJS.Timeout | undefined;
  private firstLoadDelayMs = FIRST_LOAD_RETRY_MS;
  private loading: Promise<void> = Promise.resolve();

  constructor(
    name: string,
    readonly config: FileWatcherConfig,
    private readonly options: FileWatcherOptions = {},
  ) {
    super(name);
    this.timer = setInterval(() => void this.refresh(), config.refresh_interval);
    // Certificates must never keep a process alive on their own.
    this.timer.unref();
    if (options.watchFileSystem !== false) this.watchDirectories();
    void this.refresh();
  }

  /** Validates a raw plugin config from the bootstrap; errors name the field. */
  static parseConfig(raw: unknown, fieldPath = 'config'): FileWatcherConfig {
    if (raw === undefined || raw === null) raw = {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${fieldPath}: must be an object`);
    const obj = raw as Record<string, unknown>;
    const str = (key: string): string | undefined => {
      const v = obj[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v === '') throw new Error(`${fieldPath}.${key}: must be a non-empty string`);
      return v;
    };
    const certificate_file = str('certificate_file');
    const private_key_file = str('private_key_file');
    const ca_certificate_file = str('ca_certificate_file');
    // gRFC A29: certificate_file and private_key_file come together; at least one kind must be set.
    if ((certificate_file === undefined) !== (private_key_file === undefined)) {
      throw new Error(`${fieldPath}: certificate_file and private_key_file must be set together`);
    }
    if (certificate_file === undefined && ca_certificate_file === undefined) {
      throw new Error(`${fieldPath}: needs certificate_file + private_key_file, ca_certificate_file, or both`);
    }
    const refresh_interval = obj['refresh_interval'] === undefined ? DEFAULT_FILE_WATCHER_REFRESH_MS : parseProtoJsonDuration(obj['refresh_interval'], `${fieldPath}.refresh_interval`);
    if (refresh_interval <= 0) throw new Error(`${fieldPath}.refresh_interval: must be positive`);
    return {
      refresh_interval,
      ...(certificate_file !== undefined ? { certificate_file } : {}),
      ...(private_key_file !== undefined ? { private_key_file } : {}),
      ...(ca_certificate_file !== undefined ? { ca_certificate_file } : {}),
    };
  }

  /**
   * Reads and validates the files now. Loads are serialized, so a burst of change events cannot
   * publish an older read after a newer one. Resolves once this load has been applied or reported.
   */
  refresh(): Promise<void> {
    this.loading = this.loading.then(() => this.load());
    return this.loading;
  }

  override close(): void {
    clearInterval(this.timer);
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    if (this.firstLoadRetry !== undefined) clearTimeout(this.firstLoadRetry);
    for (const w of this.watchers) w.close();
    super.close();
  }

  private async load(): Promise<void> {
    if (this.closed) return;
    const { certificate_file, private_key_file, ca_certificate_file } = this.config;
    let material: CertificateMaterial;
    try {
      const [certChain, privateKey, caBundle] = await Promise.all([
        readOptional(certificate_file),
        readOptional(private_key_file),
        readOptional(ca_certificate_file),
      ]);
      material = validateCertificateMaterial({
        ...(certChain !== undefined ? { certChain } : {}),
        ...(privateKey !== undefined ? { privateKey } : {}),
        ...(caBundle !== undefined ? { caBundle } : {}),
      });
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      const first = this.current() === undefined;
      // The detail names the file (ENOENT ... open '<path>', or the field that failed validation).
      this.report(new Error(`certificate provider "${this.name}" (file_watcher): ${first ? 'no material yet' : 'keeping previous material'}: ${detail}`));
      if (first) this.scheduleFirstLoadRetry();
      return;
    }
    const prev = this.current();
    if (prev !== undefined && prev.certChain === material.certChain && prev.privateKey === material.privateKey && prev.caBundle === material.caBundle) return;
    this.publish(material);
  }

  private watchDirectories(): void {
    const files = [this.config.certificate_file, this.config.private_key_file, this.config.ca_certificate_file].filter((f): f is string => f !== undefined);
    // Watch directories, not files: Kubernetes secret volumes and atomic writers replace files by
    // rename/symlink swap, which a watch on the old inode would never report.
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, { persistent: false }, () => this.scheduleRefresh());
        w.on('error', () => undefined); // the interval still covers us
        this.watchers.push(w);
      } catch {
        // fs.watch is best effort (unsupported file systems, missing dir); the interval remains.
      }
    }
  }

  private scheduleFirstLoadRetry(): void {
    if (this.closed || this.firstLoadRetry !== undefined) return;
    const delay = Math.min(this.firstLoadDelayMs, this.config.refresh_interval);
    this.firstLoadDelayMs = Math.min(this.firstLoadDelayMs * 2, FIRST_LOAD_RETRY_MAX_MS);
    this.firstLoadRetry = setTimeout(() => {
      this.firstLoadRetry = undefined;
      if (this.current() === undefined) void this.refresh();
    }, delay);
    this.firstLoadRetry.unref();
  }

  private scheduleRefresh(): void {
    if (this.closed) return;
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.refresh();
    }, this.options.debounceMs ?? 100);
    this.debounce.unref();
  }
}

async function readOptional(path: string | undefined): Promise<string | undefined> {
  return path === undefined ? undefined : readFile(path, 'utf8');
}
