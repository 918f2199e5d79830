import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate, type SecureContext } from 'node:tls';
import { CallCredentials, ChannelCredentials, credentials as grpcCredentials, experimental, type ChannelOptions } from '@grpc/grpc-js';
import { MeshletTlsError, explainTlsError } from '@meshlet/core';

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
 */
export class UpstreamTlsChannelCredentials extends ChannelCredentials {
  constructor(readonly connection: UpstreamTlsConnection) {
    super();
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(channelTarget: experimental.GrpcUri, _options: ChannelOptions, callCredentials?: CallCredentials): experimental.SecureConnector {
    const connection = this.connection;
    const host = hostOf(channelTarget);
    const calls = callCredentials ?? CallCredentials.createEmpty();
    // Fixed per channel (one endpoint): computed once, copied into each connection's options.
    const base: ConnectionOptions = {
      secureContext: connection.secureContext,
      ALPNProtocols: connection.alpnProtocols as string[],
      rejectUnauthorized: true,
      host,
      ...(connection.servername !== undefined ? { servername: connection.servername } : isIP(host) === 0 ? { servername: host } : {}),
      ...(connection.checkServerIdentity !== undefined ? { checkServerIdentity: connection.checkServerIdentity } : {}),
    };
    return {
      connect: (socket: Socket) => secureConnect(socket, base),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => calls,
      destroy: () => undefined,
    };
  }
}

/**
 * TLS over grpc-js's TCP socket. Failures reject with a MeshletTlsError naming the failed check
 * (trust, expiry, SAN mismatch, peer refusal), which grpc-js keeps as the subchannel's last error
 * and connectFailureReason passes to the call's status.
 */
function secureConnect(socket: Socket, base: ConnectionOptions): Promise<experimental.SecureConnectResult> {
  return new Promise((resolve, reject) => {
    if (socket.closed) {
      reject(closedEarly());
      return;
    }
    const tlsSocket = tlsConnect({ ...base, socket });
    const onClose = (): void => reject(closedEarly());
    const onError = (err: Error): void => {
      tlsSocket.destroy();
      reject(explainTlsError(err, 'server'));
    };
    tlsSocket.once('close', onClose);
    tlsSocket.once('error', onError);
    tlsSocket.once('secureConnect', () => {
      tlsSocket.off('close', onClose);
      tlsSocket.off('error', onError);
      // rejectUnauthorized already turned a failed chain or identity check into 'error'; this
      // guards the invariant rather than trusting it.
      if (!tlsSocket.authorized) {
        tlsSocket.destroy();
        reject(explainTlsError(tlsSocket.authorizationError, 'server'));
        return;
      }
      resolve({ socket: tlsSocket, secure: true });
    });
  });
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
