import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type forge from 'node-forge';
import { nodeForge } from './NodeForge.js';
import { parseDer } from './parseDer.js';
import type { SubjectAltName } from './SubjectAltName.js';


export interface DistinguishedName {
  readonly commonName?: string;
  readonly organization?: string;
}

export interface CertificateTemplate {
  readonly subject: DistinguishedName;
  readonly issuer: DistinguishedName;
  readonly subjectPublicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed root). */
  readonly signingKey: KeyObject;
  /** The issuer's public key, for the authorityKeyIdentifier. */
  readonly issuerPublicKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  readonly subjectAltNames?: readonly SubjectAltName[];
}

/**
 * Builds and signs an X.509 v3 certificate. node-forge assembles the ASN.1, but its certificate API
 * only knows RSA keys and signs in pure JS (~100 ms per RSA-2048 signature); so the public key and
 * the signature come from node:crypto, which makes EC P-256 certificates (what Istio issues with
 * ECC_SIGNATURE_ALGORITHM=ECDSA) and RSA ones equally cheap.
 */
export function buildCertificatePem(t: CertificateTemplate): string {
  const asn1 = nodeForge().asn1;
  const signature = signatureAlgorithmFor(t.signingKey);
  const scratch = nodeForge().pki.createCertificate();
  scratch.setSubject(dnAttributes(t.subject));
  scratch.setIssuer(dnAttributes(t.issuer));
  scratch.setExtensions(extensionsFor(t));

  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(2).getBytes()), // v3
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, serialNumber()),
    signature.algorithmIdentifier(),
    nodeForge().pki.distinguishedNameToAsn1(scratch.issuer),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [timeToAsn1(t.notBefore), timeToAsn1(t.notAfter)]),
    nodeForge().pki.distinguishedNameToAsn1(scratch.subject),
    subjectPublicKeyInfo(t.subjectPublicKey),
    extensionsToAsn1(scratch.extensions),
  ]);
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const sig = sign(signature.hash, tbsDer, t.signingKey);
  const cert = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    signature.algorithmIdentifier(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + sig.toString('binary')),
  ]);
  return derToPem('CERTIFICATE', Buffer.from(asn1.toDer(cert).getBytes(), 'binary'));
}

/** The `[3] { Extensions }` element of a TBSCertificate, from forge extension descriptors it has filled in. */
export function extensionsToAsn1(extensions: unknown[]): forge.asn1.Asn1 {
  // Exported by node-forge but missing from @types/node-forge.
  const pki = nodeForge().pki as unknown as { certificateExtensionsToAsn1(exts: unknown[]): forge.asn1.Asn1 };
  return pki.certificateExtensionsToAsn1(extensions);
}

export function derToPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export interface SignatureAlgorithm {
  /** node:crypto digest name, or null for algorithms with a built-in hash (Ed25519). */
  readonly hash: string | null;
  algorithmIdentifier(): forge.asn1.Asn1;
}

/** The X.509 signature algorithm a key signs with (RSA PKCS#1 v1.5 / ECDSA with SHA-256, Ed25519). */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      // sha256WithRSAEncryption; RFC 4055 requires the NULL parameters.
      return { hash: 'sha256', algorithmIdentifier: () => algorithmIdentifier('1.2.840.113549.1.1.11', true) };
    case 'ec':
      // ecdsa-with-SHA256; RFC 5758 requires the parameters to be absent.
      return { hash: 'sha256', algorithmIdentifier: () => algorithmIdentifier('1.2.840.10045.4.3.2', false) };
    case 'ed25519':
      return { hash: null, algorithmIdentifier: () => algorithmIdentifier('1.3.101.112', false) };
    default:
      throw new Error(`unsupported signing key type ${String(key.asymmetricKeyType)} (use rsa, ec or ed25519)`);
  }
}

function algorithmIdentifier(oid: string, nullParams: boolean): forge.asn1.Asn1 {
  const asn1 = nodeForge().asn1;
  const value = [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes())];
  if (nullParams) value.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, value);
}

/** SubjectPublicKeyInfo exported by node:crypto (any key type), as forge ASN.1. */
export function subjectPublicKeyInfo(key: KeyObject): forge.asn1.Asn1 {
  const publicKey = key.type === 'public' ? key : createPublicKey(key);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return parseDer(der);
}

export function dnAttributes(dn: DistinguishedName): forge.pki.CertificateField[] {
  const attrs: forge.pki.CertificateField[] = [];
  if (dn.organization !== undefined) attrs.push({ name: 'organizationName', value: dn.organization });
  if (dn.commonName !== undefined) attrs.push({ name: 'commonName', value: dn.commonName });
  return attrs;
}

/** forge extension descriptors for a subjectAltName list (GeneralName URI / DNS / IP / rfc822). */
export function subjectAltNameExtension(sans: readonly SubjectAltName[]): Record<string, unknown> {
  return {
    name: 'subjectAltName',
    // RFC 5280 4.2.1.6: critical when the subject DN is empty, as Istio workload certificates are.
    critical: true,
    altNames: sans.map((san) => {
      switch (san.type) {
        case 'URI':
          return { type: 6, value: san.value };
        case 'DNS':
          return { type: 2, value: san.value };
        case 'EMAIL':
          return { type: 1, value: san.value };
        case 'IP_ADDRESS':
          if (isIP(san.value) === 0) throw new Error(`invalid IP address SAN ${JSON.stringify(san.value)}`);
          return { type: 7, ip: san.value };
      }
    }),
  };
}

function extensionsFor(t: CertificateTemplate): Record<string, unknown>[] {
  const asn1 = nodeForge().asn1;
  const exts: Record<string, unknown>[] = [
    { name: 'basicConstraints', cA: t.isCa, critical: true },
    t.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier', value: octetString(keyIdentifier(t.subjectPublicKey)) },
    {
      name: 'authorityKeyIdentifier',
      value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, keyIdentifier(t.issuerPublicKey)),
      ]),
    },
  ];
  // Workload certificates serve both ends of an mTLS connection.
  if (!t.isCa) exts.push({ name: 'extKeyUsage', serverAuth: true, clientAuth: true });
  if (t.subjectAltNames !== undefined && t.subjectAltNames.length > 0) {
    const san = subjectAltNameExtension(t.subjectAltNames);
    exts.push({ ...san, critical: t.subject.commonName === undefined && t.subject.organization === undefined });
  }
  return exts;
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents. */
function keyIdentifier(key: KeyObject): string {
  const bitString = (subjectPublicKeyInfo(key).value as forge.asn1.Asn1[])[1]!;
  // The first content byte of a BIT STRING counts unused bits; it is not part of the key.
  const keyBytes = Buffer.from(bitString.value as string, 'binary').subarray(1);
  return createHash('sha1').update(keyBytes).digest().toString('binary');
}

function octetString(bytes: string): forge.asn1.Asn1 {
  const asn1 = nodeForge().asn1;
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  // Positive and without a leading zero byte: a DER INTEGER must be minimally encoded.
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('binary');
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function timeToAsn1(date: Date): forge.asn1.Asn1 {
  const asn1 = nodeForge().asn1;
  // Whole seconds only: DER forbids fractional seconds in UTCTime.
  const d = new Date(Math.floor(date.getTime() / 1000) * 1000);
  if (d.getUTCFullYear() >= 1950 && d.getUTCFullYear() < 2050) {
    return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(d));
  }
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}
