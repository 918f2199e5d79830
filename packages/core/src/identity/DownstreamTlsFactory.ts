import type { SecureContext, SecureContextOptions, Server, TLSSocket, TlsOptions } from 'node:tls';
import type { DownstreamTlsContext } from '@meshlet/xds-client';
import type { Disposable } from '../cluster/Disposable.js';
import type { CertificateProviderRegistry } from './CertificateProviderRegistry.js';
import { MeshletTlsError } from './MeshletTlsError.js';
import { verifiedPeerIdentity, type PeerIdentity } from './PeerIdentity.js';
import { SanMatcher } from './SanMatcher.js';
import { TlsMaterialSource } from './TlsMaterialSource.js';

// node:tls without an ESM import, which would build and keep its root certificates (see connectTls.ts).
const { createSecureContext } = process.getBuiltinModule('node:tls');

/**
 * Server-side TLS from a DownstreamTlsContext (gRFC A29 / A36): our identity from a certificate
 * provider, and, when a validation context is configured, client certificates requested and
 * verified against its CA (required when `require_client_certificate`). Client SAN matchers, if
 * any, are enforced on each accepted connection.
 */
export class DownstreamTlsFactory {
  readonly requireClientCertificate: boolean;
  readonly material: TlsMaterialSource;
  readonly sanMatcher: SanMatcher | undefined;
  private readonly alpn: readonly string[];

  constructor(context: DownstreamTlsContext, providers: CertificateProviderRegistry, fieldPath = 'downstream_tls_context') {
    const common = context.common_tls_context;
    this.material = TlsMaterialSource.fromCommonTlsContext(common, providers, `${fieldPath}.common_tls_context`);
    if (!this.material.hasIdentity) {
      throw new MeshletTlsError('config', `${fieldPath}.common_tls_context: a server needs an identity certificate (tls_certificate_provider_instance, SDS "default" or tls_certificates)`);
    }
    this.requireClientCertificate = context.require_client_certificate === true;
    if (this.requireClientCertificate && !this.material.hasTrust) {
      throw new MeshletTlsError('config', `${fieldPath}: require_client_certificate needs a validation context with a CA`);
    }
    this.sanMatcher = SanMatcher.fromValidationContext(common.validation_context, `${fieldPath}.common_tls_context.validation_context`);
    this.alpn = common.alpn_protocols ?? [];
  }

  ready(): Promise<void> {
    return this.material.ready();
  }

  /** The secure-context part of the options, with the providers' current material. */
  secureContextOptions(): SecureContextOptions {
    const identity = this.material.identity()!;
    const ca = this.material.trust();
    return { cert: identity.cert, key: identity.key, ...(ca !== undefined ? { ca } : {}) };
  }

  secureContext(): SecureContext {
    return createSecureContext(this.secureContextOptions());
  }

  /**
   * Options for `tls.createServer` / `https.createServer` / `http2.createSecureServer`. Client
   * certificates are requested whenever we have a CA to check them with; `rejectUnauthorized`
   * follows require_client_certificate. Without it Node still accepts an unverifiable certificate
   * (marking the socket unauthorized), so `attach()` or `verifyPeer()` must be used to refuse it.
   */
  serverOptions(): TlsOptions {
    return {
      ...this.secureContextOptions(),
      requestCert: this.material.hasTrust,
      rejectUnauthorized: this.requireClientCertificate,
      ...(this.alpn.length > 0 ? { ALPNProtocols: [...this.alpn] } : {}),
    };
  }

  /**
   * Keeps a server in step with its providers and enforces the peer checks Node does not do:
   * rotated material is installed with `server.setSecureContext` (new connections only), and each
   * accepted connection whose client certificate is unverified or fails the SAN matchers is
   * destroyed before any request on it is read.
   */
  attach(server: Server, onReject?: (error: MeshletTlsError, socket: TLSSocket) => void): Disposable {
    const subscriptions = this.material.providers().flatMap((p) => [
      p.onUpdate(() => {
        try {
          server.setSecureContext(this.secureContextOptions());
        } catch {
          // Incomplete material (e.g. CA present, identity not yet): keep serving the previous context.
        }
      }),
    ]);
    const onSecureConnection = (socket: TLSSocket): void => {
      try {
        this.verifyPeer(socket);
      } catch (err) {
        const error = err instanceof MeshletTlsError ? err : new MeshletTlsError('handshake', String(err));
        onReject?.(error, socket);
        socket.destroy(error);
      }
    };
    // prependListener: run before http/https handlers get a chance to read from the socket.
    server.prependListener('secureConnection', onSecureConnection);
    return {
      dispose: () => {
        for (const s of subscriptions) s.dispose();
        server.off('secureConnection', onSecureConnection);
      },
    };
  }

  /**
   * The verified client identity of an accepted connection; undefined when the client sent no
   * certificate and none is required. Throws a MeshletTlsError when a required certificate is
   * missing, the chain is unverified, or the SANs match none of the configured matchers.
   */
  verifyPeer(socket: TLSSocket): PeerIdentity | undefined {
    const peer = verifiedPeerIdentity(socket);
    if (peer === undefined) {
      if (this.requireClientCertificate) throw new MeshletTlsError('peer-certificate', 'client presented no certificate');
      return undefined;
    }
    const mismatch = this.sanMatcher?.verify(peer.subjectAltNames, 'client');
    if (mismatch !== undefined) throw mismatch;
    return peer;
  }
}
