import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltCli, runCli } from './helpers/builtCli.js';

const root = mkdtempSync(join(tmpdir(), 'meshlet-certs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(() => ensureBuiltCli(), 180_000);

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

describe('meshlet certs', () => {
  it('writes a dev CA and an Istio-shaped workload certificate, then reuses the CA on the next run', async () => {
    const dir = join(root, 'certs');
    const first = await runCli(['certs', '--dir', dir, '--namespace', 'shop', '--service-account', 'reviews']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`created a new dev CA for trust domain cluster.local: ${join(dir, 'ca-cert.pem')}`);
    expect(first.stdout).toContain('spiffe id: spiffe://cluster.local/ns/shop/sa/reviews');
    const expiry = /expires:\s+(\S+)/.exec(first.stdout)![1]!;
    // istio-agent's file names, readable by a file_watcher certificate provider.
    const leaf = new X509Certificate(read(dir, 'cert-chain.pem'));
    const ca = new X509Certificate(read(dir, 'ca-cert.pem'));
    expect(read(dir, 'root-cert.pem')).toBe(read(dir, 'ca-cert.pem'));
    expect(leaf.subjectAltName).toContain('URI:spiffe://cluster.local/ns/shop/sa/reviews');
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(read(dir, 'key.pem')))).toBe(true);
    expect(new Date(leaf.validTo).toISOString().slice(0, 16)).toBe(expiry.slice(0, 16));
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);

    const caBefore = read(dir, 'ca-cert.pem');
    const second = await runCli(['certs', '--dir', dir, '--namespace', 'shop', '--service-account', 'ratings']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('reused the dev CA for trust domain cluster.local');
    expect(second.stdout).toContain('spiffe id: spiffe://cluster.local/ns/shop/sa/ratings');
    expect(read(dir, 'ca-cert.pem')).toBe(caBefore);
    const renewed = new X509Certificate(read(dir, 'cert-chain.pem'));
    expect(renewed.subjectAltName).toContain('URI:spiffe://cluster.local/ns/shop/sa/ratings');
    expect(renewed.verify(ca.publicKey)).toBe(true); // same root: earlier peers still trust it
  });

  it('honours --trust-domain and refuses to reuse a CA made for another one', async () => {
    const dir = join(root, 'td');
    const made = await runCli(['certs', '--dir', dir, '--trust-domain', 'shop.example', '--namespace', 'ns', '--service-account', 'sa']);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('spiffe id: spiffe://shop.example/ns/ns/sa/sa');
    // Without --trust-domain the CA's own trust domain is used.
    const reused = await runCli(['certs', '--dir', dir, '--namespace', 'ns', '--service-account', 'sa2']);
    expect(reused.stdout).toContain('spiffe id: spiffe://shop.example/ns/ns/sa/sa2');
    const clash = await runCli(['certs', '--dir', dir, '--trust-domain', 'cluster.local', '--namespace', 'ns', '--service-account', 'sa']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain(`meshlet: the dev CA in ${dir} is for trust domain shop.example, not cluster.local`);
  });

  it('reports a damaged CA and missing arguments clearly', async () => {
    const dir = join(root, 'broken');
    await runCli(['certs', '--dir', dir, '--namespace', 'ns', '--service-account', 'sa']);
    writeFileSync(join(dir, 'ca-key.pem'), 'not a key');
    const [broken, usage] = await Promise.all([
      runCli(['certs', '--dir', dir, '--namespace', 'ns', '--service-account', 'sa']),
      runCli(['certs', '--dir', dir, '--namespace', 'ns']),
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/the dev CA in .* cannot be used .*remove ca-cert\.pem and ca-key\.pem/);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage:');
  });
});
