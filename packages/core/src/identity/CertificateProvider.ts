import type { Disposable } from '../cluster/Disposable.js';
import type { CertificateMaterial } from './CertificateMaterial.js';

/**
 * A source of TLS identity and trust material that can change at run time (gRFC A29 certificate
 * provider plugin instance). Consumers read `current()` when they open a connection, so rotation
 * affects new connections only; established ones keep the material they were built with.
 */
export interface CertificateProvider {
  /** The instance name (the key in the bootstrap's `certificate_providers`). */
  readonly name: string;
  /** The last good material, or undefined before the first successful load. */
  current(): CertificateMaterial | undefined;
  /** Resolves with the first good material; rejects if the provider is closed first. */
  ready(): Promise<CertificateMaterial>;
  /** Called with each new good material (not with the one already current at subscription). */
  onUpdate(listener: (material: CertificateMaterial) => void): Disposable;
  /** Called when a load fails; the previous material stays current. */
  onError(listener: (error: Error) => void): Disposable;
  /**
   * The error of the last failed load since the last good one, if any. A connection that waited
   * for the first material and gave up reports it, so the caller reads which file was missing or bad.
   */
  lastError(): Error | undefined;
  close(): void;
}
