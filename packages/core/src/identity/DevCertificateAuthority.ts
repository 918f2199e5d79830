import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { parseCertificateSigningRequestPem } from './CertificateSigningRequest.js';
import type { CertificateMaterial } from './CertificateMaterial.js';
import { SpiffeId } from './SpiffeId.js';
import type { SubjectAltName } from './SubjectAltName.js';
import { buildCertificatePem } from './X509CertificateBuilder.js';

export type KeyType = 'ec' | 'rsa';

export interface DevCertificateAuthorityOptions {
  /** default `cluster.local`, Istio's default trust domain */
  readonly trustDomain?: string;
  /** default 'ec' (P-256): fast to generate, accepted by Istio and by every TLS stack Meshlet meets */
  readonly keyType?: KeyType;
  /** ms; default 10 years, like istiod's self-signed root */
  readonly validityMs?: number;
  /** default `Meshlet dev CA (TRUST_DOMAIN)` */
  readonly commonName?: string;
  /** for tests that need a root that is not yet / no longer valid */
  readonly notBefore?: Date;
}

export interface IssueOptions {
  readonly subjectAltNames: readonly SubjectAltName[];
  readonly commonName?: string;
  /** ms; default 24 h, Istio's default workload certificate TTL */
  readonly validityMs?: number;
  /** default now minus one minute (tolerates clock skew between peers) */
  readonly notBefore?: Date;
  readonly keyType?: KeyType;
}

export interface IssueWorkloadOptions extends Omit<IssueOptions, 'subjectAltNames'> {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

/** An issued leaf plus everything a workload needs to use it (PEM). */
export interface IssuedCertificate {
  /** The leaf (this CA has no intermediates). */
  readonly certChain: string;
  readonly privateKey: string;
  /** This CA's root. */
  readonly caBundle: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spiffeId?: SpiffeId;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_LEAF_VALIDITY_MS = DAY_MS;
const DEFAULT_ROOT_VALIDITY_MS = 3650 * DAY_MS;
const SKEW_MS = 60_000;

/**
 * A self-contained certificate authority for development, tests and `meshlet certs`: a root for a
 * SPIFFE trust domain that issues Istio-shaped workload certificates (URI SAN
 * `spiffe://TD/ns/NS/sa/SA`, empty subject, serverAuth + clientAuth), so Meshlet services can run
 * mTLS without istiod and still interoperate with Istio-issued peers that trust the same root.
 * Not for production: the root key lives in process memory.
 */
export class DevCertificateAuthority {
  private constructor(
    readonly trustDomain: string,
    /** The root certificate (PEM). */
    readonly certificatePem: string,
    private readonly key: KeyObject,
    private readonly publicKey: KeyObject,
    private readonly commonName: string,
  ) {}

  static create(options: DevCertificateAuthorityOptions = {}): DevCertificateAuthority {
    const trustDomain = options.trustDomain ?? 'cluster.local';
    SpiffeId.fromParts(trustDomain, ''); // validates the trust domain
    const { privateKey, publicKey } = generateKey(options.keyType ?? 'ec');
    const commonName = options.commonName ?? `Meshlet dev CA (${trustDomain})`;
    const notBefore = options.notBefore ?? new Date(Date.now() - SKEW_MS);
    const subject = { organization: trustDomain, commonName };
    const pem = buildCertificatePem({
      subject,
      issuer: subject,
      subjectPublicKey: publicKey,
      signingKey: privateKey,
      issuerPublicKey: publicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + (options.validityMs ?? DEFAULT_ROOT_VALIDITY_MS)),
      isCa: true,
      subjectAltNames: [{ type: 'URI', value: `spiffe://${trustDomain}` }],
    });
    return new DevCertificateAuthority(trustDomain, pem, privateKey, publicKey, commonName);
  }

  /** Reopens a CA written earlier (e.g. `meshlet certs` reusing its root across runs). */
  static fromPem(options: { readonly certificate: string; readonly privateKey: string; readonly trustDomain?: string }): DevCertificateAuthority {
    const cert = new X509Certificate(options.certificate);
    const key = createPrivateKey(options.privateKey);
    if (!cert.checkPrivateKey(key)) throw new Error('DevCertificateAuthority: private key does not match the CA certificate');
    if (!cert.ca) throw new Error('DevCertificateAuthority: certificate is not a CA (basicConstraints cA is false)');
    const commonName = /CN=([^\n]+)/.exec(cert.subject)?.[1] ?? 'Meshlet dev CA';
    const trustDomain = options.trustDomain ?? /O=([^\n]+)/.exec(cert.subject)?.[1] ?? 'cluster.local';
    return new DevCertificateAuthority(trustDomain, options.certificate, key, createPublicKey(key), commonName);
  }

  /** The root's private key (PEM, PKCS#8), for persisting the CA. */
  get privateKeyPem(): string {
    return this.key.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  spiffeIdFor(namespace: string, serviceAccount: string): SpiffeId {
    return SpiffeId.forWorkload(this.trustDomain, namespace, serviceAccount);
  }

  /** An Istio-shaped workload certificate for `spiffe://TD/ns/NS/sa/SA`. */
  issueWorkload(options: IssueWorkloadOptions): IssuedCertificate {
    const spiffeId = this.spiffeIdFor(options.namespace, options.serviceAccount);
    const sans: SubjectAltName[] = [
      { type: 'URI', value: spiffeId.toString() },
      ...(options.dnsNames ?? []).map((value): SubjectAltName => ({ type: 'DNS', value })),
      ...(options.ipAddresses ?? []).map((value): SubjectAltName => ({ type: 'IP_ADDRESS', value })),
    ];
    return { ...this.issue({ ...options, subjectAltNames: sans }), spiffeId };
  }

  /** A leaf with arbitrary SANs (e.g. a DNS-only server certificate), with a fresh key. */
  issue(options: IssueOptions): IssuedCertificate {
    const { privateKey, publicKey } = generateKey(options.keyType ?? 'ec');
    const certChain = this.sign(publicKey, options.subjectAltNames, options);
    const cert = new X509Certificate(certChain);
    const uri = options.subjectAltNames.find((s) => s.type === 'URI');
    const spiffeId = uri === undefined ? undefined : SpiffeId.tryParse(uri.value);
    return {
      certChain,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      caBundle: this.certificatePem,
      notBefore: new Date(cert.validFrom),
      notAfter: new Date(cert.validTo),
      ...(spiffeId !== undefined ? { spiffeId } : {}),
    };
  }

  /**
   * Signs a PKCS#10 request (PEM) and returns the leaf PEM. Like the Istio CA, the SANs come from the
   * request but `allowedSpiffeIds`, when given, must include every URI SAN it asks for: the caller's
   * authenticated identity bounds what it may be issued.
   */
  signCsr(csrPem: string, options: { readonly validityMs?: number; readonly notBefore?: Date; readonly allowedSpiffeIds?: readonly string[] } = {}): string {
    const csr = parseCertificateSigningRequestPem(csrPem);
    if (options.allowedSpiffeIds !== undefined) {
      for (const san of csr.subjectAltNames) {
        if (san.type === 'URI' && !options.allowedSpiffeIds.includes(san.value)) {
          throw new Error(`CSR asks for ${san.value}, which the caller is not authorized for`);
        }
      }
    }
    return this.sign(csr.publicKey, csr.subjectAltNames, options);
  }

  /** Material for a StaticCertificateProvider / TLS options. */
  static toMaterial(issued: IssuedCertificate): CertificateMaterial {
    return { certChain: issued.certChain, privateKey: issued.privateKey, caBundle: issued.caBundle, notAfter: issued.notAfter, notBefore: issued.notBefore };
  }

  private sign(subjectPublicKey: KeyObject, sans: readonly SubjectAltName[], options: Pick<IssueOptions, 'validityMs' | 'notBefore' | 'commonName'>): string {
    const notBefore = options.notBefore ?? new Date(Date.now() - SKEW_MS);
    const notAfter = new Date(notBefore.getTime() + (options.validityMs ?? DEFAULT_LEAF_VALIDITY_MS) + (options.notBefore === undefined ? SKEW_MS : 0));
    return buildCertificatePem({
      subject: options.commonName !== undefined ? { commonName: options.commonName } : {},
      issuer: { organization: this.trustDomain, commonName: this.commonName },
      subjectPublicKey,
      signingKey: this.key,
      issuerPublicKey: this.publicKey,
      notBefore,
      notAfter,
      isCa: false,
      subjectAltNames: sans,
    });
  }
}

function generateKey(type: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  return type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}
