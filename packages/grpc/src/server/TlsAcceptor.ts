import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { DownstreamTlsFactory, PeerIdentity } from '@meshlet/core';
import type { Disposable, Logger } from '@meshlet/xds-client';
import type { ListenerGeneration } from './ListenerGeneration.js';

// node:tls without an ESM import, which would build and keep its root certificates (see core's connectTls.ts).
const { createServer: createTlsServer } = process.getBuiltinModule('node:tls');

const HANDSHAKE_TIMEOUT_MS = 10_000;

type OnSecure = (socket: TLSSocket, identity: PeerIdentity | undefined) => void;

/**
 * Terminates TLS for one filter chain with a DownstreamTlsContext (gRFC A29 / A36): the chain's
 * certificate, client certificates requested and verified against its CA (required when
 * require_client_certificate), its SAN matchers enforced. A tls.Server that never listens does the
 * handshakes of the sockets handed to it, so Node's own client-certificate checks apply; rotated
 * certificates reach new connections through DownstreamTlsFactory.attach.
 */
export class TlsAcceptor {
  private readonly server: TlsServer | undefined;
  private readonly attachment: Disposable | undefined;
  private readonly setupError: string | undefined;
  /** Sockets in the handshake, by their 4-tuple (the TLS socket reports the same addresses). */
  private readonly handshaking = new Map<string, OnSecure>();

  constructor(
    readonly generation: ListenerGeneration,
    private readonly factory: DownstreamTlsFactory,
    private readonly logger: Logger,
  ) {
    let server: TlsServer | undefined;
    try {
      const options = factory.serverOptions();
      const alpn = options.ALPNProtocols as readonly string[] | undefined;
      server = createTlsServer({
        ...options,
        // gRPC is HTTP/2: offer h2 whatever the config lists (istiod lists none for gRPC servers).
        ALPNProtocols: alpn === undefined || alpn.length === 0 ? ['h2'] : alpn.includes('h2') ? [...alpn] : ['h2', ...alpn],
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      });
    } catch (err) {
      // No certificate yet (or an unusable one): fail closed, connection by connection.
      this.setupError = err instanceof Error ? err.message : String(err);
    }
    this.server = server;
    if (server !== undefined) {
      this.attachment = factory.attach(server, (error, socket) => {
        logger.debug('xDS server: client certificate refused', { error: error.message, source: `${socket.remoteAddress}:${socket.remotePort}` });
      });
      server.on('secureConnection', (socket: TLSSocket) => this.onSecure(socket));
      server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        logger.debug('xDS server: TLS handshake failed', { error: error.message, source: `${socket.remoteAddress}:${socket.remotePort}` });
        this.handshaking.delete(keyOf(socket));
      });
    }
  }

  accept(socket: Socket, onSecure: OnSecure): void {
    if (this.server === undefined) {
      this.logger.warn('xDS server: cannot accept a TLS connection', { error: this.setupError });
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    this.handshaking.set(key, onSecure);
    socket.once('close', () => this.handshaking.delete(key));
    this.server.emit('connection', socket);
  }

  private onSecure(socket: TLSSocket): void {
    const key = keyOf(socket);
    const onSecure = this.handshaking.get(key);
    this.handshaking.delete(key);
    // attach() runs first and destroys sockets whose client certificate fails the checks.
    if (onSecure === undefined || socket.destroyed) return;
    let identity: PeerIdentity | undefined;
    try {
      identity = this.factory.verifyPeer(socket);
    } catch {
      socket.destroy();
      return;
    }
    onSecure(socket, identity);
  }

  dispose(): void {
    this.attachment?.dispose();
    this.server?.removeAllListeners('secureConnection');
    this.handshaking.clear();
  }
}

function keyOf(s: Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}
