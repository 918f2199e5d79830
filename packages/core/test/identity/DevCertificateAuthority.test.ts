import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DevCertificateAuthority,
  createCertificateSigningRequestPem,
  parseCertificateSigningRequestPem,
  subjectAltNamesOfCertificate,
  validateCertificateMaterial,
  writeWorkloadCertificates,
} from '../../src/identity/index.js';
import { generateKeyPairSync } from 'node:crypto';

describe('DevCertificateAuthority', () => {
  it('issues an Istio-shaped SPIFFE workload certificate chained to its root', () => {
    const ca = DevCertificateAuthority.create({ trustDomain: 'example.org' });
    const issued = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews', dnsNames: ['reviews.default.svc'], ipAddresses: ['127.0.0.1', '::1'] });
    const leaf = new X509Certificate(issued.certChain);
    const root = new X509Certificate(ca.certificatePem);
    expect(root.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(issued.privateKey))).toBe(true);
    expect(subjectAltNamesOfCertificate(leaf.raw)).toEqual([
      { type: 'URI', value: 'spiffe://example.org/ns/default/sa/reviews' },
      { type: 'DNS', value: 'reviews.default.svc' },
      { type: 'IP_ADDRESS', value: '127.0.0.1' },
      { type: 'IP_ADDRESS', value: '::1' },
    ]);
    expect(issued.spiffeId?.toString()).toBe('spiffe://example.org/ns/default/sa/reviews');
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(issued.caBundle).toBe(ca.certificatePem);
  });

  it('defaults to trust domain cluster.local, 24 h validity, and honours a short validity', () => {
    const ca = DevCertificateAuthority.create();
    expect(ca.trustDomain).toBe('cluster.local');
    const day = ca.issueWorkload({ namespace: 'a', serviceAccount: 'b' });
    expect(day.notAfter.getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    expect(day.notAfter.getTime() - Date.now()).toBeLessThan(24.1 * 3600_000);
    const short = ca.issueWorkload({ namespace: 'a', serviceAccount: 'b', validityMs: 5 * 60_000, notBefore: new Date(Date.now() - 1000) });
    expect(short.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    expect(short.notAfter.getTime() - Date.now()).toBeGreaterThan(4 * 60_000);
  });

  it('issues RSA certificates too', () => {
    const ca = DevCertificateAuthority.create({ keyType: 'rsa' });
    const issued = ca.issueWorkload({ namespace: 'a', serviceAccount: 'b', keyType: 'rsa' });
    const leaf = new X509Certificate(issued.certChain);
    expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leaf.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
  });

  it('rejects an invalid trust domain', () => {
    expect(() => DevCertificateAuthority.create({ trustDomain: 'Bad_Domain:80' })).toThrow(/trust domain|port/);
  });

  it('round-trips through fromPem and keeps issuing under the same root', () => {
    const ca = DevCertificateAuthority.create({ trustDomain: 'td.test' });
    const reopened = DevCertificateAuthority.fromPem({ certificate: ca.certificatePem, privateKey: ca.privateKeyPem });
    expect(reopened.trustDomain).toBe('td.test');
    const leaf = new X509Certificate(reopened.issueWorkload({ namespace: 'n', serviceAccount: 's' }).certChain);
    expect(leaf.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
    const other = DevCertificateAuthority.create();
    expect(() => DevCertificateAuthority.fromPem({ certificate: ca.certificatePem, privateKey: other.privateKeyPem })).toThrow(/does not match/);
  });

  it('signs a CSR, keeping its key and SANs, and refuses SPIFFE ids the caller may not have', () => {
    const ca = DevCertificateAuthority.create();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const csr = createCertificateSigningRequestPem({ privateKey, subjectAltNames: [{ type: 'URI', value: 'spiffe://cluster.local/ns/a/sa/b' }] });
    expect(parseCertificateSigningRequestPem(csr).subjectAltNames).toEqual([{ type: 'URI', value: 'spiffe://cluster.local/ns/a/sa/b' }]);
    const pem = ca.signCsr(csr, { validityMs: 3600_000, allowedSpiffeIds: ['spiffe://cluster.local/ns/a/sa/b'] });
    expect(new X509Certificate(pem).checkPrivateKey(privateKey)).toBe(true);
    expect(() => ca.signCsr(csr, { allowedSpiffeIds: ['spiffe://cluster.local/ns/a/sa/other'] })).toThrow(/not authorized/);
  });

  it('rejects a CSR whose signature does not verify', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const csr = createCertificateSigningRequestPem({ privateKey, subjectAltNames: [{ type: 'URI', value: 'spiffe://cluster.local/ns/a/sa/b' }] });
    const der = Buffer.from(csr.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der[der.length - 5] ^= 0xff; // corrupt the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => parseCertificateSigningRequestPem(tampered)).toThrow(/signature does not verify/);
  });
});

describe('writeWorkloadCertificates', () => {
  it('writes the three files istio-agent writes, and they validate as material', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshlet-certs-'));
    try {
      const result = await writeWorkloadCertificates({ dir, trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'productpage' });
      expect(result.spiffeId.toString()).toBe('spiffe://cluster.local/ns/default/sa/productpage');
      const [certChain, privateKey, caBundle] = await Promise.all(['cert-chain.pem', 'key.pem', 'root-cert.pem'].map((f) => readFile(join(dir, f), 'utf8')));
      const material = validateCertificateMaterial({ certChain: certChain!, privateKey: privateKey!, caBundle: caBundle! });
      expect(material.notAfter?.getTime()).toBe(result.notAfter.getTime());
      expect(result.files.certificateFile).toBe(join(dir, 'cert-chain.pem'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
