import { readFileSync } from 'node:fs';
import type { CommonTlsContext } from '@meshlet/xds-client';
import type { CertificateProvider } from './CertificateProvider.js';
import type { CertificateProviderRegistry } from './CertificateProviderRegistry.js';
import { MeshletTlsError } from './MeshletTlsError.js';

/**
 * Istio's SDS secret names. istio-agent serves the workload certificate as `default` and the mesh
 * roots as `ROOTCA`; both come from the same agent, whose files the bootstrap exposes as the
 * certificate provider instance `default`. So SDS `default` -> instance `default` (cert + key) and
 * SDS `ROOTCA` -> the CA bundle of instance `default` (or of an instance named `ROOTCA`, if the
 * bootstrap defines one). Other SDS names are not served without an SDS client and fail closed.
 */
export const ISTIO_SDS_IDENTITY_SECRET = 'default';
export const ISTIO_SDS_ROOT_SECRET = 'ROOTCA';

type IdentitySource =
  | { readonly kind: 'provider'; readonly provider: CertificateProvider }
  | { readonly kind: 'static'; readonly cert: string; readonly key: string };
type TrustSource =
  | { readonly kind: 'provider'; readonly provider: CertificateProvider }
  | { readonly kind: 'static'; readonly ca: string };

export interface IdentityPem {
  readonly cert: string;
  readonly key: string;
}

/**
 * Where a CommonTlsContext's identity (cert + key) and trust (CA) come from: a certificate provider
 * instance (gRFC A29), an Istio SDS name mapped to one, or inline / file data. Material is read at
 * each call, so a provider rotation reaches the next connection.
 */
export class TlsMaterialSource {
  private constructor(
    private readonly identitySource: IdentitySource | undefined,
    private readonly trustSource: TrustSource | undefined,
  ) {}

  static fromCommonTlsContext(ctx: CommonTlsContext, providers: CertificateProviderRegistry, fieldPath: string): TlsMaterialSource {
    return new TlsMaterialSource(identitySource(ctx, providers, fieldPath), trustSource(ctx, providers, fieldPath));
  }

  get hasIdentity(): boolean {
    return this.identitySource !== undefined;
  }

  get hasTrust(): boolean {
    return this.trustSource !== undefined;
  }

  /** The providers this context reads, for readiness and rotation hooks. */
  providers(): CertificateProvider[] {
    const out = new Set<CertificateProvider>();
    if (this.identitySource?.kind === 'provider') out.add(this.identitySource.provider);
    if (this.trustSource?.kind === 'provider') out.add(this.trustSource.provider);
    return [...out];
  }

  async ready(): Promise<void> {
    await Promise.all(this.providers().map((p) => p.ready()));
  }

  /** Whether every provider this context reads has loaded once (checked per new connection, not per request). */
  hasMaterial(): boolean {
    const id = this.identitySource;
    const trust = this.trustSource;
    return (id?.kind !== 'provider' || id.provider.current() !== undefined) && (trust?.kind !== 'provider' || trust.provider.current() !== undefined);
  }

  /**
   * Waits for every provider's first material, at most `timeoutMs`: a connection opened right
   * after start-up waits for the certificate instead of failing (gRPC and Envoy do the same; Envoy
   * keeps the cluster warming). On timeout, or if a provider closes first, rejects with a
   * MeshletTlsError carrying each provider's last load error, which names the missing or bad file.
   */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.hasMaterial()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.notReadyError(`after waiting ${timeoutMs} ms`)), timeoutMs);
      this.ready().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(this.notReadyError(err instanceof Error ? `(${err.message})` : '(provider closed)'));
        },
      );
    });
  }

  private notReadyError(when: string): MeshletTlsError {
    const waiting = this.providers().filter((p) => p.current() === undefined);
    const reasons = waiting.map((p) => p.lastError()?.message ?? `certificate provider "${p.name}" has not loaded yet`);
    const what = this.identitySource?.kind === 'provider' && waiting.includes(this.identitySource.provider) ? 'identity' : 'trust';
    const names = waiting.map((p) => `"${p.name}"`).join(', ');
    return new MeshletTlsError(what, `no TLS material ${when}: certificate provider ${names} has none: ${reasons.join('; ')}`);
  }

  /** Our certificate and key; undefined when the context configures none. Throws when configured but unavailable. */
  identity(): IdentityPem | undefined {
    const src = this.identitySource;
    if (src === undefined) return undefined;
    if (src.kind === 'static') return { cert: src.cert, key: src.key };
    const material = src.provider.current();
    if (material?.certChain === undefined || material.privateKey === undefined) {
      throw new MeshletTlsError('identity', `no identity certificate: certificate provider "${src.provider.name}" has no certificate and key${material === undefined ? ' yet' : ''}`);
    }
    if (material.notAfter !== undefined && material.notAfter.getTime() <= Date.now()) {
      // Presenting it would only move the failure to the peer, with a vaguer alert.
      throw new MeshletTlsError('identity', `our certificate from provider "${src.provider.name}" expired at ${material.notAfter.toISOString()}`);
    }
    return { cert: material.certChain, key: material.privateKey };
  }

  /** The CA bundle to verify peers with; undefined when the context configures none. Throws when configured but unavailable. */
  trust(): string | undefined {
    const src = this.trustSource;
    if (src === undefined) return undefined;
    if (src.kind === 'static') return src.ca;
    const ca = src.provider.current()?.caBundle;
    if (ca === undefined) throw new MeshletTlsError('trust', `no CA certificates: certificate provider "${src.provider.name}" has no CA bundle${src.provider.current() === undefined ? ' yet' : ''}`);
    return ca;
  }
}

function lookup(providers: CertificateProviderRegistry, instance: string, fieldPath: string): CertificateProvider {
  try {
    return providers.get(instance);
  } catch (err) {
    throw new MeshletTlsError('config', `${fieldPath}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function identitySource(ctx: CommonTlsContext, providers: CertificateProviderRegistry, fieldPath: string): IdentitySource | undefined {
  if (ctx.tls_certificate_provider_instance !== undefined) {
    const path = `${fieldPath}.tls_certificate_provider_instance`;
    return { kind: 'provider', provider: lookup(providers, ctx.tls_certificate_provider_instance.instance_name, path) };
  }
  const sds = ctx.tls_certificate_sds_secret_configs ?? [];
  if (sds.length > 0) {
    const name = sds[0]!.name;
    const path = `${fieldPath}.tls_certificate_sds_secret_configs[0]`;
    if (name !== ISTIO_SDS_IDENTITY_SECRET) {
      throw new MeshletTlsError('config', `${path}: SDS secret ${JSON.stringify(name)} is not supported (only Istio's "${ISTIO_SDS_IDENTITY_SECRET}", served by certificate provider instance "default")`);
    }
    return { kind: 'provider', provider: lookup(providers, 'default', path) };
  }
  const inline = ctx.tls_certificates?.[0];
  if (inline !== undefined) {
    const path = `${fieldPath}.tls_certificates[0]`;
    return { kind: 'static', cert: dataSource(inline.certificate_chain, `${path}.certificate_chain`), key: dataSource(inline.private_key, `${path}.private_key`) };
  }
  return undefined;
}

function trustSource(ctx: CommonTlsContext, providers: CertificateProviderRegistry, fieldPath: string): TrustSource | undefined {
  const vc = ctx.validation_context;
  const vcPath = `${fieldPath}.validation_context`;
  if (vc?.ca_certificate_provider_instance !== undefined) {
    return { kind: 'provider', provider: lookup(providers, vc.ca_certificate_provider_instance.instance_name, `${vcPath}.ca_certificate_provider_instance`) };
  }
  const sds = ctx.validation_context_sds_secret_config;
  if (sds !== undefined) {
    const path = `${fieldPath}.validation_context_sds_secret_config`;
    if (sds.name !== ISTIO_SDS_ROOT_SECRET) {
      throw new MeshletTlsError('config', `${path}: SDS secret ${JSON.stringify(sds.name)} is not supported (only Istio's "${ISTIO_SDS_ROOT_SECRET}", served by the CA of certificate provider instance "default")`);
    }
    const instance = providers.has(ISTIO_SDS_ROOT_SECRET) ? ISTIO_SDS_ROOT_SECRET : 'default';
    return { kind: 'provider', provider: lookup(providers, instance, path) };
  }
  if (vc?.trusted_ca !== undefined) {
    return { kind: 'static', ca: dataSource(vc.trusted_ca, `${vcPath}.trusted_ca`) };
  }
  return undefined;
}

/** An envoy.config.core.v3.DataSource. Files are read once, at compile time: use file_watcher for rotation. */
function dataSource(ds: { readonly filename?: string; readonly inline_string?: string; readonly inline_bytes?: Uint8Array } | undefined, fieldPath: string): string {
  if (ds?.inline_string !== undefined) return ds.inline_string;
  if (ds?.inline_bytes !== undefined) return Buffer.from(ds.inline_bytes).toString('utf8');
  if (ds?.filename !== undefined) {
    try {
      return readFileSync(ds.filename, 'utf8');
    } catch (err) {
      throw new MeshletTlsError('config', `${fieldPath}.filename: cannot read ${ds.filename}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  throw new MeshletTlsError('config', `${fieldPath}: no data (need filename, inline_string or inline_bytes)`);
}
