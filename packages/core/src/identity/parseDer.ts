import type forge from 'node-forge';
import { nodeForge } from './NodeForge.js';

type FromDerWithOptions = (bytes: forge.util.ByteBuffer, options: { decodeBitStrings: boolean }) => forge.asn1.Asn1;

/**
 * DER -> forge ASN.1 with BIT STRINGs left as bytes. forge otherwise tries to parse every BIT STRING
 * as nested ASN.1, which both wastes time on signatures and can reshape a public key so that it no
 * longer re-encodes byte for byte. (@types/node-forge omits the options argument.)
 */
export function parseDer(der: Uint8Array): forge.asn1.Asn1 {
  const fromDer = nodeForge().asn1.fromDer as unknown as FromDerWithOptions;
  return fromDer(nodeForge().util.createBuffer(Buffer.from(der).toString('binary')), { decodeBitStrings: false });
}
