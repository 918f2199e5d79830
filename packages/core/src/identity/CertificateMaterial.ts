import { createPrivateKey, X509Certificate } from 'node:crypto';

/**
 * What a certificate provider currently holds (gRFC A29: an identity certificate + key, root
 * certificates, or both). PEM strings, ready for `tls.createSecureContext`.
 */
export interface CertificateMaterial {
  /** The identity chain, leaf first. */
  readonly certChain?: string;
  readonly privateKey?: string;
  /** Trusted roots for verifying peers. */
  readonly caBundle?: string;
  /** The leaf's notAfter (when certChain is present). */
  readonly notAfter?: Date;
  /** The leaf's notBefore (when certChain is present); rotation schedules from it. */
  readonly notBefore?: Date;
}

export interface CertificateMaterialInput {
  readonly certChain?: string;
  readonly privateKey?: string;
  readonly caBundle?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemCertificates(pem: string): string[] {
  return pem.match(PEM_CERTIFICATE) ?? [];
}

/**
 * Checks material before anyone may use it, so that a half-written or mismatched file is rejected
 * as a whole (the caller keeps what it had): every PEM block parses, the key parses, and the key
 * belongs to the leaf certificate. Throws an Error naming the failed check.
 */
export function validateCertificateMaterial(input: CertificateMaterialInput): CertificateMaterial {
  if ((input.certChain === undefined) !== (input.privateKey === undefined)) {
    throw new Error('identity certificate and private key must be given together');
  }
  let notAfter: Date | undefined;
  let notBefore: Date | undefined;
  if (input.certChain !== undefined && input.privateKey !== undefined) {
    const blocks = splitPemCertificates(input.certChain);
    if (blocks.length === 0) throw new Error('certificate chain has no PEM CERTIFICATE block');
    const chain = blocks.map((pem, i) => parseCertificate(pem, `certificate chain entry ${i}`));
    let key;
    try {
      key = createPrivateKey(input.privateKey);
    } catch (err) {
      throw new Error(`private key does not parse: ${reason(err)}`);
    }
    const leaf = chain[0]!;
    if (!leaf.checkPrivateKey(key)) throw new Error('private key does not match the leaf certificate');
    notAfter = new Date(leaf.validTo);
    notBefore = new Date(leaf.validFrom);
  }
  if (input.caBundle !== undefined) {
    const blocks = splitPemCertificates(input.caBundle);
    if (blocks.length === 0) throw new Error('CA bundle has no PEM CERTIFICATE block');
    blocks.forEach((pem, i) => parseCertificate(pem, `CA bundle entry ${i}`));
  }
  return {
    ...(input.certChain !== undefined ? { certChain: input.certChain, privateKey: input.privateKey, notAfter, notBefore } : {}),
    ...(input.caBundle !== undefined ? { caBundle: input.caBundle } : {}),
  };
}

function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${what} does not parse: ${reason(err)}`);
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
