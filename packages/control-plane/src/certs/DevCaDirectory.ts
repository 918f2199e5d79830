import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DevCertificateAuthority } from '@meshlet/core';

export const DEV_CA_CERT_FILE = 'ca-cert.pem';
export const DEV_CA_KEY_FILE = 'ca-key.pem';

export interface OpenedDevCa {
  readonly ca: DevCertificateAuthority;
  /** False when an existing CA was reused: earlier workload certificates still verify. */
  readonly created: boolean;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * The dev CA kept next to the workload certificates, so a second `meshlet certs` run (another
 * workload, or a renewal) issues under the same root and every local workload trusts every
 * other. A CA found in the directory is reused only for the trust domain it was made for: a
 * SPIFFE root belongs to one trust domain, and silently mixing two would make SAN checks lie.
 */
export async function openDevCa(dir: string, trustDomain: string | undefined): Promise<OpenedDevCa> {
  const certFile = join(dir, DEV_CA_CERT_FILE);
  const keyFile = join(dir, DEV_CA_KEY_FILE);
  if (existsSync(certFile) || existsSync(keyFile)) {
    let ca: DevCertificateAuthority;
    try {
      ca = DevCertificateAuthority.fromPem({ certificate: await readFile(certFile, 'utf8'), privateKey: await readFile(keyFile, 'utf8') });
    } catch (error) {
      throw new Error(`the dev CA in ${dir} cannot be used (${(error as Error).message}); remove ${DEV_CA_CERT_FILE} and ${DEV_CA_KEY_FILE} to make a new one`, { cause: error });
    }
    if (trustDomain !== undefined && trustDomain !== ca.trustDomain) {
      throw new Error(`the dev CA in ${dir} is for trust domain ${ca.trustDomain}, not ${trustDomain}; use another --dir or remove ${DEV_CA_CERT_FILE} and ${DEV_CA_KEY_FILE}`);
    }
    return { ca, created: false, certFile, keyFile };
  }
  const ca = DevCertificateAuthority.create({ trustDomain: trustDomain ?? 'cluster.local' });
  await mkdir(dir, { recursive: true });
  await writeAtomically(keyFile, ca.privateKeyPem, 0o600);
  await writeAtomically(certFile, ca.certificatePem, 0o644);
  return { ca, created: true, certFile, keyFile };
}

async function writeAtomically(path: string, contents: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, contents, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
