import { validateCertificateMaterial, type CertificateMaterialInput } from './CertificateMaterial.js';
import { CertificateProviderBase } from './CertificateProviderBase.js';

/** In-memory material (dev mode, tests, or material obtained elsewhere); `update()` rotates it. */
export class StaticCertificateProvider extends CertificateProviderBase {
  constructor(name: string, material: CertificateMaterialInput) {
    super(name);
    this.publish(validateCertificateMaterial(material));
  }

  /** Validates and swaps the material; invalid material throws and leaves the current one in place. */
  update(material: CertificateMaterialInput): void {
    this.publish(validateCertificateMaterial(material));
  }
}
