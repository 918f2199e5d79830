import { parseArgs } from 'node:util';
import { writeWorkloadCertificates } from '@meshlet/core';
import { openDevCa } from './DevCaDirectory.js';

export const CERTS_USAGE = `  meshlet certs --dir <dir> --namespace <ns> --service-account <sa> [--trust-domain cluster.local]
                                             issue a dev SPIFFE workload certificate as istio-agent writes it
                                             (cert-chain.pem, key.pem, root-cert.pem); the CA stays in <dir>`;

/**
 * `meshlet certs`: a workload certificate from the dev CA kept in `--dir` (made on first use),
 * in istio-agent's file names so a `file_watcher` certificate provider and an istio-agent
 * bootstrap pick it up unchanged. Prints the SPIFFE id and the expiry.
 */
export async function certsCommand(args: readonly string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { dir: { type: 'string' }, 'trust-domain': { type: 'string' }, namespace: { type: 'string' }, 'service-account': { type: 'string' } },
  });
  const { dir, namespace } = values;
  const serviceAccount = values['service-account'];
  if (!dir || !namespace || !serviceAccount) {
    err(`usage:\n${CERTS_USAGE}`);
    return 2;
  }
  const opened = await openDevCa(dir, values['trust-domain']);
  const written = await writeWorkloadCertificates({ dir, namespace, serviceAccount, ca: opened.ca, trustDomain: opened.ca.trustDomain });
  out(`${opened.created ? 'created a new' : 'reused the'} dev CA for trust domain ${opened.ca.trustDomain}: ${opened.certFile}\n`);
  out(`spiffe id: ${written.spiffeId.toString()}\n`);
  out(`expires:   ${written.notAfter.toISOString()}\n`);
  out(`wrote:     ${written.files.certificateFile} ${written.files.privateKeyFile} ${written.files.caCertificateFile}\n`);
  return 0;
}
