import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createCertificateSigningRequestPem } from './CertificateSigningRequest.js';
import { splitPemCertificates, validateCertificateMaterial, type CertificateMaterial } from './CertificateMaterial.js';
import { CertificateProviderBase } from './CertificateProviderBase.js';
import type { KeyType } from './DevCertificateAuthority.js';
import { grpcUnaryCall } from './GrpcUnaryCall.js';
import { decodeIstioCertificateResponse, encodeIstioCertificateRequest } from './IstioCertificateMessages.js';
import { SpiffeId } from './SpiffeId.js';

export interface IstioCaClientOptions {
  /** istiod's CA address, `host:port` (istio-agent's CA_ADDR; default port 15012). */
  readonly address: string;
  /** PEM root that istiod's serving certificate chains to (the `istio-ca-root-cert` ConfigMap). */
  readonly caCertificate?: string;
  /** Or a file holding it (istio-agent: /var/run/secrets/istio/root-cert.pem). */
  readonly caCertificateFile?: string;
  /** TLS server name to verify istiod against; default the address host (istiod's certificate names istiod.istio-system.svc). */
  readonly serverName?: string;
  /** Kubernetes projected service-account token, audience `istio-ca`; re-read on every request because kubelet rotates it. */
  readonly tokenPath?: string;
  readonly trustDomain?: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Sent as `ClusterID` metadata so a multi-cluster istiod picks the right token reviewer. */
  readonly clusterId?: string;
  /** ms requested for each certificate; default 24 h. The CA may shorten it. */
  readonly validityMs?: number;
  /** Fraction of the lifetime after which to rotate; default 0.5 (istio-agent's SECRET_GRACE_PERIOD_RATIO). */
  readonly rotateAtFraction?: number;
  /** Retry backoff on CA errors: full jitter, doubling from initialMs to maxMs; default 1 s .. 60 s. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly requestTimeoutMs?: number;
  readonly keyType?: KeyType;
  /** The provider instance name; default `default`, what Istio's xDS references. */
  readonly name?: string;
}

export const DEFAULT_ISTIO_TOKEN_PATH = '/var/run/secrets/tokens/istio-token';
const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
// setTimeout stores delays in a signed 32-bit int; longer waits would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A certificate provider that gets workload certificates straight from the Istio CA (istiod,
 * `IstioCertificateService/CreateCertificate`), without istio-agent: a fresh key and a CSR for
 * `spiffe://TD/ns/NS/sa/SA`, authenticated with the Kubernetes service-account JWT as
 * `authorization: Bearer`. It rotates at a fraction of the certificate lifetime and retries CA
 * failures with jittered exponential backoff, keeping the previous material meanwhile.
 */
export class IstioCaClient extends CertificateProviderBase {
  readonly spiffeId: SpiffeId;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly options: IstioCaClientOptions) {
    super(options.name ?? 'default');
    this.spiffeId = SpiffeId.forWorkload(options.trustDomain ?? 'cluster.local', options.namespace, options.serviceAccount);
    this.schedule(0);
  }

  /** Requests a certificate now (also what the schedule calls); resolves when this attempt is done. */
  refresh(): Promise<void> {
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  override close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    super.close();
  }

  private async fetch(): Promise<void> {
    if (this.closed) return;
    try {
      const material = await this.requestCertificate();
      if (this.closed) return;
      this.attempt = 0;
      this.publish(material);
      this.schedule(this.rotationDelay(material));
    } catch (err) {
      if (this.closed) return;
      const detail = err instanceof Error ? err.message : String(err);
      this.report(new Error(`certificate provider "${this.name}" (Istio CA ${this.options.address}): ${detail}`, { cause: err }));
      this.schedule(this.backoffDelay());
    }
  }

  private async requestCertificate(): Promise<CertificateMaterial> {
    const key = generateKey(this.options.keyType ?? 'ec');
    const csr = createCertificateSigningRequestPem({ privateKey: key, subjectAltNames: [{ type: 'URI', value: this.spiffeId.toString() }] });
    const [token, caRoot] = await Promise.all([
      readFile(this.options.tokenPath ?? DEFAULT_ISTIO_TOKEN_PATH, 'utf8').then((t) => t.trim()),
      this.istiodRoot(),
    ]);
    const { host, port } = splitAddress(this.options.address);
    const response = await grpcUnaryCall({
      authority: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
      path: CREATE_CERTIFICATE_PATH,
      message: encodeIstioCertificateRequest({
        csr,
        validity_duration: Math.round((this.options.validityMs ?? 24 * 3600_000) / 1000),
        ...(this.options.clusterId !== undefined ? { metadata: { ClusterID: this.options.clusterId } } : {}),
      }),
      metadata: {
        authorization: `Bearer ${token}`,
        ...(this.options.clusterId !== undefined ? { clusterid: this.options.clusterId } : {}),
      },
      tls: { ca: caRoot, servername: this.options.serverName ?? host },
      timeoutMs: this.options.requestTimeoutMs ?? 10_000,
    });
    const chain = decodeIstioCertificateResponse(response).cert_chain.flatMap((pem) => splitPemCertificates(pem));
    if (chain.length === 0) throw new Error('CA returned an empty certificate chain');
    // The response is leaf, intermediates..., root. With a single certificate the mesh root is the one istiod serves with.
    const root = chain.length > 1 ? `${chain[chain.length - 1]!}\n` : caRoot;
    const certChain = `${(chain.length > 1 ? chain.slice(0, -1) : chain).join('\n')}\n`;
    return validateCertificateMaterial({ certChain, privateKey: key.export({ type: 'pkcs8', format: 'pem' }).toString(), caBundle: root });
  }

  private async istiodRoot(): Promise<string> {
    if (this.options.caCertificate !== undefined) return this.options.caCertificate;
    if (this.options.caCertificateFile !== undefined) return readFile(this.options.caCertificateFile, 'utf8');
    throw new Error('no root certificate to verify istiod with (caCertificate or caCertificateFile)');
  }

  private rotationDelay(material: CertificateMaterial): number {
    const notBefore = material.notBefore?.getTime() ?? Date.now();
    const notAfter = material.notAfter?.getTime() ?? Date.now();
    const at = notBefore + (notAfter - notBefore) * (this.options.rotateAtFraction ?? 0.5);
    return Math.max(0, at - Date.now());
  }

  private backoffDelay(): number {
    const initial = this.options.backoff?.initialMs ?? 1000;
    const max = this.options.backoff?.maxMs ?? 60_000;
    const ceiling = Math.min(max, initial * 2 ** this.attempt);
    this.attempt++;
    // Full jitter: a fleet restarted together must not hit istiod in lockstep.
    return Math.random() * ceiling;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), Math.min(delayMs, MAX_TIMER_MS));
    this.timer.unref();
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(address);
  if (m === null) throw new Error(`invalid Istio CA address ${JSON.stringify(address)} (want host:port)`);
  return { host: m[1] ?? m[2]!, port: m[3] !== undefined ? Number(m[3]) : 15012 };
}

function generateKey(type: KeyType): KeyObject {
  return type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}
