import type { ConnectionOptions } from 'node:tls';
import { credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { CertificateProviderRegistry, ISTIO_ALPN, MeshletTlsError, UpstreamTlsFactory, selectTransportSocket, type ClusterTransportConfig, type UpstreamTls } from '@meshlet/core/client';
import type { Metadata, TransportSocket } from '@meshlet/xds-client';
import { UpstreamTlsChannelCredentials, hasSecureConnectorHook, type UpstreamTlsConnection } from './UpstreamTlsChannelCredentials.js';

// node:tls without an ESM import, which would build and keep its root certificates (see core's connectTls.ts).
const { createSecureContext } = process.getBuiltinModule('node:tls');

/** How the channel to one endpoint is secured. */
export interface EndpointTransport {
  /**
   * Which transport config this is: 'plaintext', or 'tls:N' for one distinct UpstreamTlsContext.
   * The pool keeps one channel per (endpoint, slot), so plaintext and mTLS endpoints (or one
   * endpoint reached through clusters with different TLS settings) coexist.
   */
  readonly slot: string;
  /** The grpc-js credentials of the endpoint's channel; a new object when the TLS material rotates. */
  readonly credentials: ChannelCredentials;
  /** Channel options the transport needs (the context's SNI). */
  readonly channelOptions?: ChannelOptions;
}

interface TlsTransport extends EndpointTransport {
  /** The material the credentials were made with; set when the first material arrives for a transport made before it. */
  cert: unknown;
  key: unknown;
  ca: unknown;
  /** Made before the providers had material and still waiting for it: attempts meanwhile share it (and its channel). */
  awaiting: boolean;
}

/** A cluster's transport config, and its connect_timeout (ms), which bounds the wait for the first material. */
export type EndpointClusterConfig = ClusterTransportConfig & { readonly connect_timeout?: number };

const PLAINTEXT_SLOT = 'plaintext';
const RAW_BUFFER = 'envoy.transport_sockets.raw_buffer';
/** gRPC is HTTP/2 only: what a non-Istio context offers (as grpc-js itself does). */
const H2_ONLY: readonly string[] = ['h2'];
/** Envoy's connect_timeout default, for a cluster that sets none. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** How this process's grpc-js lets us make TLS connections: our own connector, or only createSsl. */
export type GrpcTlsConnector = 'meshlet' | 'grpc-js';

let warnedNoHook = false;

/**
 * The grpc-js credentials for each endpoint's channel, from its cluster's `transport_socket` /
 * `transport_socket_matches` (endpoint metadata `envoy.transport_socket_match`, Istio's
 * `tlsMode: istio`) and the certificate providers (gRFC A29).
 *
 * - No transport socket, or raw_buffer: the `credentials` option (insecure by default).
 * - An UpstreamTlsContext: UpstreamTlsChannelCredentials built from
 *   `UpstreamTls.connectionOptions('h2')`: the chain is checked against the context's CA and the
 *   server's SANs against `match_subject_alt_names` (Envoy semantics, not hostnames), and Istio
 *   contexts (`tlsMode: istio` match, or `istio` in alpn_protocols; the rule @meshlet/http uses)
 *   offer `istio-h2, istio, h2` so PERMISSIVE sidecars select mTLS. The material is read at every
 *   attempt, the connection options only when it changed; when a provider rotates it, the
 *   credentials (and so the endpoint's channel, see EndpointChannelPool) are new, while calls
 *   already running finish on the old channel, as Envoy drains connections made with the old secret.
 * - TLS whose certificate provider has not loaded its first material yet (a file_watcher right
 *   after start-up): credentials whose connector waits for it before connecting, bounded by the
 *   cluster's connect_timeout (the same wait as @meshlet/http's, TlsMaterialSource.whenReady);
 *   if it does not come, the connection fails with the provider's last load error, which names
 *   the file, and the call fails UNAVAILABLE (UF). With grpc-js's own connector (below) there is
 *   nothing to wait in, and such an attempt fails at once.
 * - Anything else, or TLS without usable material: throws a MeshletTlsError (fail closed; never
 *   plaintext unless the selected socket is raw_buffer).
 *
 * Our own connector relies on grpc-js's internal `_createSecureConnector` hook. If the installed
 * grpc-js lacks it, the credentials are `credentials.createSsl` (same checks, but grpc-js's
 * connector offers only `h2`, so PERMISSIVE sidecars pass the connection through) and a warning
 * is emitted once.
 */
export class EndpointCredentials {
  readonly plaintext: EndpointTransport;
  private readonly factory: UpstreamTlsFactory;
  private readonly hasProviders: boolean;
  /** Slot per TransportSocket object, and per distinct config content (so a CDS push that repeats a config keeps its channels). */
  private readonly slotOfSocket = new WeakMap<TransportSocket, string>();
  private readonly slotOfContent = new Map<string, string>();
  /** The current credentials per TLS slot. */
  private readonly built = new Map<string, TlsTransport>();

  /** Whose connector makes the TLS connections (and so whether Istio ALPN can be offered). */
  readonly tlsConnector: GrpcTlsConnector;

  constructor(plaintext: ChannelCredentials, providers: CertificateProviderRegistry | undefined, tlsConnector: GrpcTlsConnector = detectTlsConnector()) {
    this.tlsConnector = tlsConnector;
    this.plaintext = { slot: PLAINTEXT_SLOT, credentials: plaintext };
    this.hasProviders = providers !== undefined;
    // Without providers, inline material (tls_certificates, trusted_ca) still works; contexts
    // naming a provider instance fail closed with the reason.
    this.factory = new UpstreamTlsFactory(providers ?? CertificateProviderRegistry.of({}));
  }

  /** The slot an endpoint's channel belongs in, without reading TLS material. */
  slotFor(cluster: ClusterTransportConfig, endpointMetadata: Metadata | undefined): string {
    const { socket } = selectTransportSocket(cluster, endpointMetadata);
    return socket === undefined || isRawBuffer(socket) ? PLAINTEXT_SLOT : this.slotOf(socket);
  }

  /**
   * The transport for one attempt to an endpoint of `cluster`. Throws a MeshletTlsError when TLS
   * is required but cannot be honoured (no providers, unsupported socket; no material yet only with
   * grpc-js's own connector: ours waits for it, see awaitingFirstMaterial).
   */
  forEndpoint(cluster: EndpointClusterConfig | undefined, endpointMetadata: Metadata | undefined): EndpointTransport {
    if (cluster === undefined) return this.plaintext;
    const { socket } = selectTransportSocket(cluster, endpointMetadata);
    if (socket === undefined || isRawBuffer(socket)) return this.plaintext;
    let tls: UpstreamTls;
    let identity: ReturnType<UpstreamTls['material']['identity']>;
    let ca: string | undefined;
    try {
      const transport = this.factory.forEndpoint(cluster, endpointMetadata);
      if (transport.kind === 'plaintext') return this.plaintext;
      tls = transport;
      // One check per attempt; true except right after start-up.
      if (!tls.material.hasMaterial() && this.tlsConnector === 'meshlet') return this.awaitingFirstMaterial(this.slotOf(socket), tls, cluster.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT_MS);
      // The material as a new connection would get it; these throw as connectionOptions would (none
      // yet, an expired certificate).
      identity = tls.material.identity();
      ca = tls.material.trust();
    } catch (err) {
      if (this.hasProviders || !(err instanceof MeshletTlsError)) throw err;
      throw new MeshletTlsError('config', `cluster ${cluster.name} requires TLS (${socket.name}) but no certificate providers are configured (the certificateProviders option); ${err.message.replace(/^meshlet mTLS: /, '')}`, { cause: err });
    }
    const slot = this.slotOf(socket);
    const current = this.built.get(slot);
    // Connection options and credentials are built when the material changed (a rotation), not per attempt.
    if (current !== undefined && current.cert === identity?.cert && current.key === identity?.key && current.ca === ca) return current;
    const options = tls.connectionOptions('h2');
    const next: TlsTransport = this.tlsConnector === 'meshlet' ? meshletTransport(slot, options, tls.istio) : createSslTransport(slot, options);
    this.built.set(slot, next);
    return next;
  }

  /**
   * A transport for a slot whose providers have no material yet: its credentials wait for the first
   * material when grpc-js connects, at most `connectTimeoutMs`. Once it arrives the transport takes
   * that material as its own, so the next attempts (which find it equal) keep the channel the wait
   * opened. After a failed wait the next attempt gets a new one (a new channel, waiting again)
   * rather than the failed channel, which grpc-js would fail at once until its reconnect backoff.
   */
  private awaitingFirstMaterial(slot: string, tls: UpstreamTls, connectTimeoutMs: number): TlsTransport {
    const current = this.built.get(slot);
    if (current?.awaiting === true) return current;
    const transport: TlsTransport = {
      slot,
      cert: undefined,
      key: undefined,
      ca: undefined,
      awaiting: true,
      credentials: new UpstreamTlsChannelCredentials(() =>
        tls.material.whenReady(connectTimeoutMs).then(
          () => {
            const options = tls.connectionOptions('h2');
            const connection = meshletConnection(options, tls.istio);
            transport.cert = options.cert;
            transport.key = options.key;
            transport.ca = options.ca;
            transport.awaiting = false;
            return connection;
          },
          (err: unknown) => {
            transport.awaiting = false;
            throw err;
          },
        ),
      ),
    };
    this.built.set(slot, transport);
    return transport;
  }

  /** Forgets the credentials of TLS slots no endpoint uses any more. */
  retainSlots(live: ReadonlySet<string>): void {
    for (const slot of this.built.keys()) if (!live.has(slot)) this.built.delete(slot);
  }

  private slotOf(socket: TransportSocket): string {
    let slot = this.slotOfSocket.get(socket);
    if (slot === undefined) {
      const content = JSON.stringify(socket, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
      slot = this.slotOfContent.get(content);
      if (slot === undefined) {
        slot = `tls:${this.slotOfContent.size + 1}`;
        this.slotOfContent.set(content, slot);
      }
      this.slotOfSocket.set(socket, slot);
    }
    return slot;
  }
}

/** Our connector: SecureContext built once per material snapshot, our ALPN, SNI and SAN checks per connection. */
function meshletTransport(slot: string, options: ConnectionOptions, istio: boolean): TlsTransport {
  return { slot, cert: options.cert, key: options.key, ca: options.ca, awaiting: false, credentials: new UpstreamTlsChannelCredentials(meshletConnection(options, istio)) };
}

function meshletConnection(options: ConnectionOptions, istio: boolean): UpstreamTlsConnection {
  let secureContext;
  try {
    secureContext = createSecureContext({ cert: options.cert, key: options.key, ca: options.ca });
  } catch (err) {
    throw new MeshletTlsError('identity', `cannot use the TLS material for gRPC: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return {
    secureContext,
    alpnProtocols: istio ? ISTIO_ALPN.h2 : H2_ONLY,
    servername: options.servername,
    // Set when the context has a CA: chain checked against it alone, then the SAN matchers
    // instead of a hostname check (Envoy; gRFC A29). Without a CA, Node's defaults apply.
    checkServerIdentity: options.checkServerIdentity,
  };
}

/** grpc-js's own TLS (no usable connector hook): the same checks, but ALPN is only `h2`. */
function createSslTransport(slot: string, options: ConnectionOptions): TlsTransport {
  return {
    slot,
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    awaiting: false,
    credentials: grpcCredentials.createSsl(pem(options.ca, 'ca'), pem(options.key, 'key'), pem(options.cert, 'cert'), {
      ...(options.checkServerIdentity !== undefined ? { checkServerIdentity: options.checkServerIdentity } : {}),
    }),
    // UpstreamTlsContext.sni: grpc-js would otherwise send the endpoint's IP as the server name.
    ...(options.servername !== undefined ? { channelOptions: { 'grpc.ssl_target_name_override': options.servername } } : {}),
  };
}

/**
 * Our connector when the installed grpc-js has the hook (checked on `sample`, a credentials object
 * grpc-js made); else grpc-js's, with a warning once per process.
 */
export function detectTlsConnector(sample: object = grpcCredentials.createInsecure()): GrpcTlsConnector {
  if (hasSecureConnectorHook(sample)) return 'meshlet';
  if (!warnedNoHook) {
    warnedNoHook = true;
    process.emitWarning(
      'the installed @grpc/grpc-js has no ChannelCredentials._createSecureConnector; gRPC mTLS connections offer only h2 in ALPN, so PERMISSIVE Istio sidecars will not treat them as mesh mTLS (use a grpc-js version in @meshlet/grpc\'s peer range)',
      'MeshletWarning',
    );
  }
  return 'grpc-js';
}

function isRawBuffer(socket: TransportSocket): boolean {
  return socket.raw_buffer === true || socket.name === RAW_BUFFER;
}

/** grpc-js takes PEM as Buffers; connectionOptions gives strings (one PEM, possibly a bundle). */
function pem(value: unknown, what: string): Buffer | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return Buffer.from(value);
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return Buffer.from(value.map((v) => (Buffer.isBuffer(v) ? v.toString() : String(v))).join('\n'));
  throw new MeshletTlsError('config', `unsupported ${what} material for gRPC credentials`);
}
