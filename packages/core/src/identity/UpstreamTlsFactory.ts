import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { Metadata, TransportSocket, UpstreamTlsContext } from '@meshlet/xds-client';
import type { CertificateProviderRegistry } from './CertificateProviderRegistry.js';
import { alpnFor, isIstioAlpn, isIstioRootsContext, type HttpProtocol } from './IstioAlpn.js';
import { MeshletTlsError } from './MeshletTlsError.js';
import { SanMatcher } from './SanMatcher.js';
import { subjectAltNamesOfCertificate } from './SubjectAltName.js';
import { TlsMaterialSource } from './TlsMaterialSource.js';
import { selectTransportSocket, type ClusterTransportConfig } from './TransportSocketSelector.js';

export interface PlaintextTransport {
  readonly kind: 'plaintext';
  /** The transport socket's name (e.g. envoy.transport_sockets.raw_buffer), or undefined when the cluster has none. */
  readonly socketName: string | undefined;
}

export type UpstreamTransport = PlaintextTransport | UpstreamTls;

export interface UpstreamTlsFactoryOptions {
  /**
   * When to offer Istio's ALPN values (see ISTIO_ALPN): 'auto' (default) for contexts that list
   * `istio-peer-exchange`/`istio`, were selected by a `tlsMode: istio` match, or list no ALPN and verify
   * against Istio's `ROOTCA` (istiod's grpc generator); 'never' to offer the configured protocols only.
   */
  readonly istioAlpn?: 'auto' | 'never';
}

const RAW_BUFFER = 'envoy.transport_sockets.raw_buffer';
const TLS = 'envoy.transport_sockets.tls';

/**
 * Client-side TLS for upstream connections, from a Cluster's transport_socket /
 * transport_socket_matches and the certificate providers. Compiled contexts are cached per
 * (immutable) TransportSocket object, so a config push that keeps a cluster's TLS settings keeps
 * its compiled matchers.
 *
 * Fail closed: plaintext only when the selected socket is raw_buffer (or the cluster has no
 * transport socket at all, which Envoy also treats as raw_buffer); any other socket Meshlet cannot
 * honour throws a MeshletTlsError instead of silently downgrading.
 */
export class UpstreamTlsFactory {
  private readonly compiled = new WeakMap<TransportSocket, Map<boolean, UpstreamTransport>>();

  constructor(
    private readonly providers: CertificateProviderRegistry,
    private readonly options: UpstreamTlsFactoryOptions = {},
  ) {}

  /** The transport for one endpoint of `cluster`, chosen by its `envoy.transport_socket_match` metadata. */
  forEndpoint(cluster: ClusterTransportConfig, endpointMetadata?: Metadata): UpstreamTransport {
    const { socket, match } = selectTransportSocket(cluster, endpointMetadata);
    if (socket === undefined) return { kind: 'plaintext', socketName: undefined };
    const istioMatch = match !== undefined && match.match['tlsMode'] === 'istio';
    let byHint = this.compiled.get(socket);
    if (byHint === undefined) {
      byHint = new Map();
      this.compiled.set(socket, byHint);
    }
    let transport = byHint.get(istioMatch);
    if (transport === undefined) {
      const where = match !== undefined ? `cluster ${cluster.name} transport_socket_matches[${JSON.stringify(match.name)}].transport_socket` : `cluster ${cluster.name} transport_socket`;
      transport = this.compile(socket, istioMatch, where);
      byHint.set(istioMatch, transport);
    }
    return transport;
  }

  /**
   * Node `tls.connect` options for one new connection to an endpoint, or undefined for plaintext.
   * Throws a MeshletTlsError when the TLS material is missing or the config cannot be honoured.
   */
  connectionOptions(cluster: ClusterTransportConfig, endpointMetadata: Metadata | undefined, protocol: HttpProtocol): ConnectionOptions | undefined {
    const transport = this.forEndpoint(cluster, endpointMetadata);
    return transport.kind === 'plaintext' ? undefined : transport.connectionOptions(protocol);
  }

  private compile(socket: TransportSocket, istioMatch: boolean, where: string): UpstreamTransport {
    if (socket.raw_buffer === true || socket.name === RAW_BUFFER) return { kind: 'plaintext', socketName: socket.name };
    if (socket.upstream_tls === undefined) {
      throw new MeshletTlsError('config', `${where}: transport socket ${JSON.stringify(socket.name)} is not supported (only ${TLS} with UpstreamTlsContext, or ${RAW_BUFFER}); refusing to fall back to plaintext`);
    }
    const common = socket.upstream_tls.common_tls_context;
    const istio = this.options.istioAlpn !== 'never' && (istioMatch || isIstioAlpn(common.alpn_protocols ?? []) || isIstioRootsContext(common));
    return new UpstreamTls(socket.name, socket.upstream_tls, this.providers, istio, `${where}.typed_config`);
  }
}

/** One compiled UpstreamTlsContext. */
export class UpstreamTls {
  readonly kind = 'tls' as const;
  readonly sni: string | undefined;
  readonly sanMatcher: SanMatcher | undefined;
  readonly material: TlsMaterialSource;
  private readonly configuredAlpn: readonly string[];

  constructor(
    readonly socketName: string,
    context: UpstreamTlsContext,
    providers: CertificateProviderRegistry,
    /** Whether to offer Istio's ALPN values. */
    readonly istio: boolean,
    fieldPath: string,
  ) {
    const common = context.common_tls_context;
    const vc = common.validation_context;
    if (vc?.trust_chain_verification === 'ACCEPT_UNTRUSTED') {
      throw new MeshletTlsError('config', `${fieldPath}.common_tls_context.validation_context.trust_chain_verification: ACCEPT_UNTRUSTED is not supported (Meshlet always verifies the chain)`);
    }
    this.material = TlsMaterialSource.fromCommonTlsContext(common, providers, `${fieldPath}.common_tls_context`);
    this.sanMatcher = SanMatcher.fromValidationContext(vc, `${fieldPath}.common_tls_context.validation_context`);
    if (this.sanMatcher !== undefined && !this.material.hasTrust) {
      // SAN matching without a trust anchor of our own would trust any public CA's certificate for that name.
      throw new MeshletTlsError('config', `${fieldPath}.common_tls_context: SAN matchers need a CA (validation_context trusted_ca, ca_certificate_provider_instance, or SDS ROOTCA)`);
    }
    this.sni = context.sni !== undefined && context.sni !== '' ? context.sni : undefined;
    this.configuredAlpn = common.alpn_protocols ?? [];
  }

  /** Waits until every provider this context reads has material. */
  ready(): Promise<void> {
    return this.material.ready();
  }

  /**
   * Options for one new connection, with the providers' current material. With a CA configured,
   * Node verifies the chain and validity against it alone (`ca` replaces the system roots); with SAN
   * matchers, `checkServerIdentity` applies them instead of hostname verification, as Envoy does;
   * with a CA but no matchers, only the chain is checked (Envoy semantics). With no validation
   * context at all, Node's defaults apply (system roots + hostname), stricter than Envoy, which
   * would accept any certificate.
   */
  connectionOptions(protocol: HttpProtocol): ConnectionOptions {
    const identity = this.material.identity();
    const ca = this.material.trust();
    const options: ConnectionOptions = {
      rejectUnauthorized: true,
      ALPNProtocols: alpnFor(protocol, this.configuredAlpn, this.istio),
      ...(identity !== undefined ? { cert: identity.cert, key: identity.key } : {}),
      ...(ca !== undefined ? { ca } : {}),
      ...(this.sni !== undefined ? { servername: this.sni } : {}),
    };
    if (ca !== undefined) options.checkServerIdentity = (_host, cert) => this.checkServerIdentity(cert);
    return options;
  }

  /** SAN verification of a server certificate whose chain Node has already verified. */
  checkServerIdentity(cert: PeerCertificate): Error | undefined {
    if (this.sanMatcher === undefined) return undefined;
    return this.sanMatcher.verify(subjectAltNamesOfCertificate(cert.raw), 'server');
  }
}
