import { isIP, type Socket } from 'node:net';
import type { ConnectionOptions, PeerCertificate, SecureContext } from 'node:tls';
import { CallCredentials, ChannelCredentials, experimental, type ChannelOptions } from '@grpc/grpc-js';
import { MeshletTlsError, explainTlsError } from '@meshlet/core/client';

// node:tls without an ESM import, which would build and keep its root certificates (see core's connectTls.ts).
const { connect: tlsConnect } = process.getBuiltinModule('node:tls');

/** How one TLS connection to an endpoint is made: one snapshot of an UpstreamTlsContext's material. */
export interface UpstreamTlsConnection {
  /** Our certificate, key and CA, built once per snapshot (not per connection). */
  readonly secureContext: SecureContext;
  /** The ALPN list to offer (Istio's `istio-h2, istio, h2` for Istio mTLS). */
  readonly alpnProtocols: readonly string[];
  /** UpstreamTlsContext.sni; otherwise the endpoint's host name, never an IP (RFC 6066). */
  readonly servername: string | undefined;
  /** The SAN matchers (set when the context has a CA); otherwise Node's hostname check. */
  readonly checkServerIdentity: ((host: string, cert: PeerCertificate) => Error | undefined) | undefined;
}

/**
 * Whether a grpc-js credentials object builds its TLS connections through
 * `_createSecureConnector` (grpc-js 1.10 and later; our peer range pins ~1.14). Older versions
 * call other internals, which this class does not implement.
 */
export function hasSecureConnectorHook(credentials: object): boolean {
  return typeof (credentials as Record<string, unknown>)['_createSecureConnector'] === 'function';
}

/**
 * The snapshot of credentials made before the material was loaded: resolves once the certificate
 * provider has it (the wait bounded by the cluster's connect_timeout), or rejects with a
 * MeshletTlsError naming the provider and the file it could not read.
 */
export type FirstTlsConnection = () => Promise<UpstreamTlsConnection>;

/**
 * grpc-js channel credentials whose secure connector does Meshlet's own `tls.connect`: our
 * SecureContext, SNI, SAN matchers and, unlike grpc-js's connector (which hard-codes
 * `ALPNProtocols: ['h2']`), the ALPN list we choose, so a PERMISSIVE Istio sidecar sees
 * `istio-h2, istio, h2` and selects its mTLS filter chain.
 *
 * This overrides `_createSecureConnector`, a grpc-js internal (public in its .d.ts but
 * underscore-named). That is a deliberate reliance, pinned by our grpc-js peer range;
 * EndpointCredentials checks it exists (hasSecureConnectorHook) and otherwise falls back
 * to `credentials.createSsl` (only `h2` offered) with a warning.
 *
 * One object per material snapshot: grpc-js compares credentials with `_equals` to share
 * subchannels, and EndpointChannelPool retires an endpoint's channel when the object changes
 * (rotation), so identity is the right equality. Call credentials compose as for any secure
 * credentials (grpc-js wraps this object and passes the combined ones to the connector).
 *
 * Made with a FirstTlsConnection instead (the certificate provider has not read its files yet,
 * right after start-up), the snapshot is the first material: grpc-js calls the connector's
 * `waitForReady()` before it opens the TCP connection, and that waits for it, so the call waits
 * as it would for a slow connect instead of failing (gRPC and Envoy wait too). Calls and
 * endpoints using these credentials share one wait; after a failed one the next connection
 * attempt waits again.
 */
export class UpstreamTlsChannelCredentials extends ChannelCredentials {
  private connection: UpstreamTlsConnection | undefined;
  private readonly first: FirstTlsConnection | undefined;
  private waiting: Promise<UpstreamTlsConnection> | undefined;

  constructor(connection: UpstreamTlsConnection | FirstTlsConnection) {
    super();
    if (typeof connection === 'function') this.first = connection;
    else this.connection = connection;
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(channelTarget: experimental.GrpcUri, _options: ChannelOptions, callCredentials?: CallCredentials): experimental.SecureConnector {
    const host = hostOf(channelTarget);
    const calls = callCredentials ?? CallCredentials.createEmpty();
    // Fixed per channel (one endpoint) once the snapshot is known: computed once, copied into each connection's options.
    let base = this.connection === undefined ? undefined : baseOptions(this.connection, host);
    return {
      // grpc-js awaits waitForReady() before connect(), so `base` is normally set here already.
      connect: (socket: Socket) => (base !== undefined ? secureConnect(socket, base) : this.snapshot().then((c) => secureConnect(socket, (base = baseOptions(c, host))))),
      waitForReady: () => (base !== undefined ? Promise.resolve() : this.snapshot().then((c) => void (base = baseOptions(c, host)))),
      getCallCredentials: () => calls,
      destroy: () => undefined,
    };
  }

  /** The snapshot, waiting for the first material once for every connector of these credentials. */
  private snapshot(): Promise<UpstreamTlsConnection> {
    if (this.connection !== undefined) return Promise.resolve(this.connection);
    this.waiting ??= this.first!().then(
      (c) => {
        this.connection = c;
        this.waiting = undefined;
        return c;
      },
      (err: unknown) => {
        this.waiting = undefined;
        throw err;
      },
    );
    return this.waiting;
  }
}

function baseOptions(connection: UpstreamTlsConnection, host: string): ConnectionOptions {
  return {
    secureContext: connection.secureContext,
    ALPNProtocols: [...connection.alpnProtocols],
    rejectUnauthorized: true,
    host,
    ...(connection.servername !== undefined ? { servername: connection.servername } : isIP(host) === 0 ? { servername: host } : {}),
    ...(connection.checkServerIdentity !== undefined ? { checkServerIdentity: connection.checkServerIdentity } : {}),
  };
}

/**
 * How long to wait after the handshake for the server's first bytes before handing the socket to
 * grpc-js anyway. Only a server that sends nothing until it hears from us reaches it (HTTP/2
 * servers send SETTINGS at once); it bounds the delay such a server would see, nothing more.
 */
const FIRST_SERVER_BYTES_WAIT_MS = 1000;

/**
 * TLS over grpc-js's TCP socket. Failures reject with a MeshletTlsError naming the failed check
 * (trust, expiry, SAN mismatch, peer refusal), which grpc-js keeps as the subchannel's last error
 * and connectFailureReason passes to the call's status.
 *
 * The socket is handed over once the server has sent application bytes after the handshake (its
 * HTTP/2 SETTINGS, which grpc-js waits for anyway; not a session ticket, which OpenSSL may send
 * before a Node server's own certificate check refuses us). Under TLS 1.3 the
 * server checks our certificate after our side of the handshake is done and refuses it with an
 * alert or by closing; once grpc-js's HTTP/2 session owns the socket, Node drops that and the
 * call would say only "Failed to connect". Bytes read while waiting stay buffered, and Node's
 * HTTP/2 session takes buffered bytes first.
 */
function secureConnect(socket: Socket, base: ConnectionOptions): Promise<experimental.SecureConnectResult> {
  return new Promise((resolve, reject) => {
    if (socket.closed) {
      reject(closedEarly());
      return;
    }
    const tlsSocket = tlsConnect({ ...base, socket });
    let settled = false;
    let handshakeDone = false;
    let wait: NodeJS.Timeout | undefined;
    const settle = (): void => {
      settled = true;
      clearTimeout(wait);
      tlsSocket.off('readable', onReadable).off('close', onClose);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settle();
      tlsSocket.destroy();
      reject(err);
    };
    const accept = (): void => {
      if (settled) return;
      settle();
      resolve({ socket: tlsSocket, secure: true });
    };
    // 'readable' also fires for TLS records that carry no application data (session tickets),
    // and at the end, which 'close' reports: keep waiting for bytes.
    const onReadable = (): void => {
      if (tlsSocket.readableLength > 0) accept();
      else tlsSocket.once('readable', onReadable);
    };
    const onClose = (): void => fail(handshakeDone ? closedAfterHandshake() : closedEarly());
    tlsSocket.once('close', onClose);
    // Kept after the handover, as grpc-js's own connector does: an error before grpc-js attaches
    // its handlers must not become an uncaught exception.
    tlsSocket.on('error', (err) => {
      if (!settled) fail(explainTlsError(err, 'server'));
    });
    tlsSocket.once('secureConnect', () => {
      handshakeDone = true;
      // rejectUnauthorized already turned a failed chain or identity check into 'error'; this
      // guards the invariant rather than trusting it.
      if (!tlsSocket.authorized) {
        fail(explainTlsError(tlsSocket.authorizationError, 'server'));
        return;
      }
      tlsSocket.once('readable', onReadable);
      wait = setTimeout(accept, FIRST_SERVER_BYTES_WAIT_MS);
      wait.unref();
    });
  });
}

/** The server ended the connection after the handshake, before sending anything and without an alert (Node servers refuse a client certificate so). */
function closedAfterHandshake(): MeshletTlsError {
  return new MeshletTlsError('rejected-by-peer', 'the server closed the connection right after the TLS handshake (it may have refused our certificate)');
}

/** Worded like Node's own ECONNRESET, which connectFailureReason recognises as "not TLS". */
function closedEarly(): MeshletTlsError {
  return new MeshletTlsError('handshake', 'TLS handshake with server failed: connection closed before secure TLS connection was established');
}

/** The host part of a per-endpoint channel target (`ipv4:1.2.3.4:80`, `ipv6:[::1]:80`, `dns:name:443`). */
function hostOf(target: experimental.GrpcUri): string {
  const hostPort = experimental.splitHostPort(target.path);
  return hostPort?.host ?? target.path;
}
