import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { nodeForge } from './NodeForge.js';
import { parseDer } from './parseDer.js';
import { subjectAltNamesOfExtensions, type SubjectAltName } from './SubjectAltName.js';
import {
  derToPem,
  dnAttributes,
  extensionsToAsn1,
  signatureAlgorithmFor,
  subjectAltNameExtension,
  subjectPublicKeyInfo,
  type DistinguishedName,
} from './X509CertificateBuilder.js';

const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14';

export interface CsrTemplate {
  readonly privateKey: KeyObject;
  readonly subjectAltNames: readonly SubjectAltName[];
  /** Istio's CSRs carry no subject; the identity is the URI SAN. */
  readonly subject?: DistinguishedName;
}

/** A PKCS#10 certificate signing request (PEM), signed by `privateKey` with node:crypto. */
export function createCertificateSigningRequestPem(t: CsrTemplate): string {
  const asn1 = nodeForge().asn1;
  const scratch = nodeForge().pki.createCertificate();
  scratch.setSubject(dnAttributes(t.subject ?? {}));
  scratch.setExtensions([subjectAltNameExtension(t.subjectAltNames)]);
  const extensions = (extensionsToAsn1(scratch.extensions).value as forge.asn1.Asn1[])[0]!;
  const info = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(0).getBytes()),
    nodeForge().pki.distinguishedNameToAsn1(scratch.subject),
    subjectPublicKeyInfo(createPublicKey(t.privateKey)),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(EXTENSION_REQUEST_OID).getBytes()),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [extensions]),
      ]),
    ]),
  ]);
  const algorithm = signatureAlgorithmFor(t.privateKey);
  const infoDer = Buffer.from(asn1.toDer(info).getBytes(), 'binary');
  const signature = sign(algorithm.hash, infoDer, t.privateKey);
  const csr = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    info,
    algorithm.algorithmIdentifier(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  ]);
  return derToPem('CERTIFICATE REQUEST', Buffer.from(asn1.toDer(csr).getBytes(), 'binary'));
}

export interface ParsedCertificateSigningRequest {
  readonly publicKey: KeyObject;
  readonly subjectAltNames: readonly SubjectAltName[];
}

/** Signature algorithm OID -> node:crypto digest (null: the algorithm hashes itself). */
const SIGNATURE_HASHES: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};

/**
 * Parses a PEM PKCS#10 request and checks its self-signature (proof that the requester holds the
 * private key); a CA must never sign a request whose signature does not verify.
 */
export function parseCertificateSigningRequestPem(pem: string): ParsedCertificateSigningRequest {
  const asn1 = nodeForge().asn1;
  const match = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (match === null) throw new Error('CSR: no "CERTIFICATE REQUEST" PEM block');
  const der = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  let root: forge.asn1.Asn1;
  try {
    root = parseDer(der);
  } catch (err) {
    throw new Error(`CSR: malformed DER: ${err instanceof Error ? err.message : String(err)}`);
  }
  const [info, algorithm, signatureBits] = root.value as forge.asn1.Asn1[];
  if (info === undefined || algorithm === undefined || signatureBits === undefined) throw new Error('CSR: not a CertificationRequest');
  const infoParts = info.value as forge.asn1.Asn1[];
  const spki = infoParts[2];
  if (spki === undefined) throw new Error('CSR: no subjectPublicKeyInfo');
  const publicKey = createPublicKey({ key: Buffer.from(asn1.toDer(spki).getBytes(), 'binary'), format: 'der', type: 'spki' });

  const oid = asn1.derToOid((algorithm.value as forge.asn1.Asn1[])[0]!.value as string);
  const hash = SIGNATURE_HASHES[oid];
  if (hash === undefined) throw new Error(`CSR: unsupported signature algorithm ${oid}`);
  const signature = Buffer.from(signatureBits.value as string, 'binary').subarray(1);
  if (!verify(hash, firstElementBytes(der), publicKey, signature)) throw new Error('CSR: signature does not verify');

  let subjectAltNames: SubjectAltName[] = [];
  const attributes = infoParts[3];
  for (const attr of Array.isArray(attributes?.value) ? attributes.value : []) {
    const [attrOid, values] = attr.value as forge.asn1.Asn1[];
    if (attrOid === undefined || asn1.derToOid(attrOid.value as string) !== EXTENSION_REQUEST_OID) continue;
    const extensions = (values?.value as forge.asn1.Asn1[] | undefined)?.[0];
    if (extensions !== undefined) subjectAltNames = subjectAltNamesOfExtensions(extensions);
  }
  return { publicKey, subjectAltNames };
}

/**
 * The exact bytes of the first element inside the outer SEQUENCE: the signature covers the
 * requester's encoding, which a decode/re-encode round trip is not guaranteed to reproduce.
 */
function firstElementBytes(der: Buffer): Buffer {
  const outer = tlvHeader(der, 0);
  const inner = tlvHeader(der, outer.headerLength);
  return der.subarray(outer.headerLength, outer.headerLength + inner.headerLength + inner.length);
}

function tlvHeader(buf: Buffer, offset: number): { headerLength: number; length: number } {
  const first = buf[offset + 1];
  if (first === undefined) throw new Error('CSR: truncated DER');
  if (first < 0x80) return { headerLength: 2, length: first };
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
  return { headerLength: 2 + count, length };
}
