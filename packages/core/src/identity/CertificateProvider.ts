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
  close(): void;
}
