import type { Disposable } from '../cluster/Disposable.js';
import type { CertificateMaterial } from './CertificateMaterial.js';
import type { CertificateProvider } from './CertificateProvider.js';

/** Listener bookkeeping and the "last good material" rule shared by every provider. */
export abstract class CertificateProviderBase implements CertificateProvider {
  private material: CertificateMaterial | undefined;
  private failure: Error | undefined;
  private readonly updateListeners = new Set<(material: CertificateMaterial) => void>();
  private readonly errorListeners = new Set<(error: Error) => void>();
  private readonly firstMaterial: Promise<CertificateMaterial>;
  private resolveFirst!: (material: CertificateMaterial) => void;
  private rejectFirst!: (error: Error) => void;
  protected closed = false;

  constructor(readonly name: string) {
    this.firstMaterial = new Promise<CertificateMaterial>((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
    // A provider that is closed before anyone awaited ready() must not raise an unhandled rejection.
    this.firstMaterial.catch(() => undefined);
  }

  current(): CertificateMaterial | undefined {
    return this.material;
  }

  ready(): Promise<CertificateMaterial> {
    return this.firstMaterial;
  }

  lastError(): Error | undefined {
    return this.failure;
  }

  onUpdate(listener: (material: CertificateMaterial) => void): Disposable {
    this.updateListeners.add(listener);
    return { dispose: () => this.updateListeners.delete(listener) };
  }

  onError(listener: (error: Error) => void): Disposable {
    this.errorListeners.add(listener);
    return { dispose: () => this.errorListeners.delete(listener) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectFirst(new Error(`certificate provider "${this.name}" closed before it had material`));
    this.updateListeners.clear();
    this.errorListeners.clear();
  }

  protected publish(material: CertificateMaterial): void {
    if (this.closed) return;
    this.material = material;
    this.failure = undefined;
    this.resolveFirst(material);
    for (const listener of [...this.updateListeners]) listener(material);
  }

  protected report(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    for (const listener of [...this.errorListeners]) listener(error);
  }
}
