import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DevCertificateAuthority, type IssuedCertificate, type KeyType } from './DevCertificateAuthority.js';
import type { SpiffeId } from './SpiffeId.js';

/** The file names istio-agent writes into its output directory (/etc/certs, or ./var/run/secrets/workload-spiffe-credentials). */
export const ISTIO_CERT_CHAIN_FILE = 'cert-chain.pem';
export const ISTIO_KEY_FILE = 'key.pem';
export const ISTIO_ROOT_CERT_FILE = 'root-cert.pem';

export interface WriteWorkloadCertificatesOptions {
  readonly dir: string;
  readonly trustDomain?: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** ms; default 24 h */
  readonly validityMs?: number;
  readonly keyType?: KeyType;
  /** Reuse a CA (so several workloads share a root); a new one is created otherwise. */
  readonly ca?: DevCertificateAuthority;
}

export interface WrittenWorkloadCertificates {
  readonly spiffeId: SpiffeId;
  readonly notAfter: Date;
  readonly ca: DevCertificateAuthority;
  readonly issued: IssuedCertificate;
  /** The paths, shaped like a `file_watcher` certificate provider config. */
  readonly files: { readonly certificateFile: string; readonly privateKeyFile: string; readonly caCertificateFile: string };
}

/**
 * Issues a dev workload certificate and writes it as istio-agent does, so the `file_watcher`
 * provider (and a bootstrap written for istio-agent) picks it up unchanged. The backing of
 * `meshlet certs`. Each file is written to a temp name and renamed, so a concurrent reader never
 * sees half a file; the key is 0600.
 */
export async function writeWorkloadCertificates(options: WriteWorkloadCertificatesOptions): Promise<WrittenWorkloadCertificates> {
  const ca = options.ca ?? DevCertificateAuthority.create({ trustDomain: options.trustDomain ?? 'cluster.local', ...(options.keyType ? { keyType: options.keyType } : {}) });
  const issued = ca.issueWorkload(options);
  await mkdir(options.dir, { recursive: true });
  const files = {
    certificateFile: join(options.dir, ISTIO_CERT_CHAIN_FILE),
    privateKeyFile: join(options.dir, ISTIO_KEY_FILE),
    caCertificateFile: join(options.dir, ISTIO_ROOT_CERT_FILE),
  };
  await writeAtomically(files.privateKeyFile, issued.privateKey, 0o600);
  await writeAtomically(files.certificateFile, issued.certChain, 0o644);
  await writeAtomically(files.caCertificateFile, issued.caBundle, 0o644);
  return { spiffeId: issued.spiffeId!, notAfter: issued.notAfter, ca, issued, files };
}

async function writeAtomically(path: string, contents: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, contents, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
