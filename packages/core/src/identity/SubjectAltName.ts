import type forge from 'node-forge';
import { nodeForge } from './NodeForge.js';
import { parseDer } from './parseDer.js';

/** The SAN kinds Meshlet matches (envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.SanType). */
export type SanType = 'DNS' | 'URI' | 'IP_ADDRESS' | 'EMAIL';

export interface SubjectAltName {
  readonly type: SanType;
  /** IP addresses are formatted as Envoy does: dotted IPv4, RFC 5952 IPv6. */
  readonly value: string;
}

const SUBJECT_ALT_NAME_OID = '2.5.29.17';
// GeneralName CHOICE tags (RFC 5280 4.2.1.6).
const TAG_RFC822 = 1;
const TAG_DNS = 2;
const TAG_URI = 6;
const TAG_IP = 7;

/**
 * The subjectAltName entries of a DER certificate (e.g. `PeerCertificate.raw`). Parsed from the DER
 * rather than from Node's `subjectaltname` string because that string's quoting rules changed across
 * Node versions, and a URI or DNS name with a comma must not be split into two identities.
 */
export function subjectAltNamesOfCertificate(der: Uint8Array): SubjectAltName[] {
  const cert = parseDer(der);
  const tbs = children(cert)[0];
  if (tbs === undefined) return [];
  for (const field of children(tbs)) {
    if (field.tagClass === nodeForge().asn1.Class.CONTEXT_SPECIFIC && field.type === 3) {
      const extensions = children(field)[0];
      return extensions === undefined ? [] : subjectAltNamesOfExtensions(extensions);
    }
  }
  return [];
}

/** SANs from an ASN.1 `Extensions` SEQUENCE (certificates and CSR extensionRequest share it). */
export function subjectAltNamesOfExtensions(extensions: forge.asn1.Asn1): SubjectAltName[] {
  for (const ext of children(extensions)) {
    const parts = children(ext);
    const oid = parts[0];
    if (oid === undefined || nodeForge().asn1.derToOid(oid.value as string) !== SUBJECT_ALT_NAME_OID) continue;
    const octets = parts[parts.length - 1]!;
    const generalNames = typeof octets.value === 'string' ? parseDer(Buffer.from(octets.value, 'binary')) : children(octets)[0];
    return generalNames === undefined ? [] : decodeGeneralNames(generalNames);
  }
  return [];
}

function decodeGeneralNames(seq: forge.asn1.Asn1): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  for (const name of children(seq)) {
    if (name.tagClass !== nodeForge().asn1.Class.CONTEXT_SPECIFIC || typeof name.value !== 'string') continue;
    const bytes = name.value;
    switch (name.type) {
      case TAG_DNS:
        out.push({ type: 'DNS', value: Buffer.from(bytes, 'binary').toString('utf8') });
        break;
      case TAG_URI:
        out.push({ type: 'URI', value: Buffer.from(bytes, 'binary').toString('utf8') });
        break;
      case TAG_RFC822:
        out.push({ type: 'EMAIL', value: Buffer.from(bytes, 'binary').toString('utf8') });
        break;
      case TAG_IP: {
        const ip = formatIpAddress(Buffer.from(bytes, 'binary'));
        if (ip !== undefined) out.push({ type: 'IP_ADDRESS', value: ip });
        break;
      }
      default:
        // otherName, directoryName, ...: not matchable by Meshlet, so not an identity here.
        break;
    }
  }
  return out;
}

function formatIpAddress(raw: Buffer): string | undefined {
  if (raw.length === 4) return Array.from(raw).join('.');
  if (raw.length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function children(node: forge.asn1.Asn1): forge.asn1.Asn1[] {
  return Array.isArray(node.value) ? node.value : [];
}

/** Renders SANs for error messages, e.g. `URI:spiffe://cluster.local/ns/a/sa/b, DNS:a.example`. */
export function describeSubjectAltNames(sans: readonly SubjectAltName[]): string {
  if (sans.length === 0) return '(no subjectAltName)';
  return sans.map((s) => s.value).join(', ');
}
