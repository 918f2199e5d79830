import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { ServerCredentials, status as Status, experimental, type Server as GrpcServer } from '@grpc/grpc-js';
import type { TLSSocket } from 'node:tls';
import type { ConnectionInfo } from '@meshlet/core';
import { ListenerResource, type Disposable, type Listener, type Logger, type ResourceSource } from '@meshlet/xds-client';
import { connectionInterceptor } from './ConnectionInterceptor.js';
import { ListenerGeneration, type BoundAddress } from './ListenerGeneration.js';
import { PeerPrincipals } from './PeerPrincipals.js';
import type { RouteConfigWatches } from './RouteConfigWatches.js';
import { admitCall, type ConnectionFacts } from './ServerCallAdmission.js';
import type { ServerFilterChain, FilterChainCompileContext } from './ServerFilterChain.js';
import type { PerRouteFilterConfigs } from './ServerHttpFilters.js';
import type { ServingStatus, ServingStatusListener } from './ServingStatus.js';
import { TlsAcceptor } from './TlsAcceptor.js';

type ConnectionInjector = ReturnType<GrpcServer['createConnectionInjector']>;

/** One accepted TCP connection and what serves it. */
interface ServerConnection {
  readonly socket: Socket;
  readonly generation: ListenerGeneration;
  readonly chain: ServerFilterChain;
  injector: ConnectionInjector | undefined;
}

export interface ServingPortOptions {
  readonly grpcServer: GrpcServer;
  readonly source: ResourceSource;
  readonly routes: RouteConfigWatches;
  readonly perRoute: PerRouteFilterConfigs;
  readonly compile: Omit<FilterChainCompileContext, 'perRoute'>;
  /** What connections on chains without TLS (or every connection, for non-xDS credentials) use. */
  readonly credentials: ServerCredentials;
  readonly resourceNameFor: (addressText: string) => string;
  readonly addressText: (ip: string, port: number) => string;
  readonly drainGraceTimeMs: number;
  readonly onServingStatus: ServingStatusListener | undefined;
  readonly logger: Logger;
}

/**
 * One address an xDS server is bound to (gRFC A36): it listens at once, fetches its Listener, and
 * serves only while it has a valid one. Until then, and after the Listener is removed, connections
 * are accepted and closed. Each new connection gets a filter chain (FilterChainSelector; no chain
 * and no default chain = closed), the chain's TLS if it has one, and is handed to grpc-js through a
 * connection injector whose interceptor admits each call (routes, RBAC, faults). A Listener update
 * takes effect once its route configurations have arrived; connections of the previous version are
 * then drained gracefully (GOAWAY, in-flight calls finish within the grace time).
 */
export class ServingPort {
  private readonly net: NetServer;
  private bound!: BoundAddress;
  address = '';
  resourceName = '';
  private watch: Disposable | undefined;
  private active: ListenerGeneration | undefined;
  private pending: ListenerGeneration | undefined;
  private readonly tls = new Map<ServerFilterChain, TlsAcceptor>();
  private readonly connections = new Set<ServerConnection>();
  private lastStatus: ServingStatus | undefined;
  private closed = false;

  constructor(private readonly o: ServingPortOptions) {
    this.net = createNetServer({ pauseOnConnect: false }, (socket) => this.accept(socket));
  }

  /** Binds, then subscribes to the Listener named after the bound address. Resolves to the bound port. */
  async listen(host: string, port: number): Promise<number> {
    this.net.listen({ host, port, exclusive: true });
    await Promise.race([once(this.net, 'listening'), once(this.net, 'error').then(([err]) => Promise.reject(err as Error))]);
    const a = this.net.address() as AddressInfo;
    this.bound = { ip: a.address, port: a.port };
    this.address = this.o.addressText(a.address, a.port);
    this.resourceName = this.o.resourceNameFor(this.address);
    this.watch = this.o.source.watch(ListenerResource, this.resourceName, {
      onResource: (l) => this.onListener(l),
      onError: (err) => this.onListenerError(err),
      onDoesNotExist: () => this.onListenerMissing(),
    });
    return a.port;
  }

  get port(): number {
    return this.bound.port;
  }

  get serving(): boolean {
    return this.active !== undefined && !this.closed;
  }

  // ------------------------------------------------------------------ Listener updates

  private onListener(listener: Listener): void {
    if (this.closed) return;
    let next: ListenerGeneration;
    try {
      next = ListenerGeneration.compile(listener, this.bound, { ...this.o.compile, perRoute: this.o.perRoute });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.o.logger.warn('xDS server: Listener rejected', { listener: this.resourceName, error: message });
      // A36: an invalid update keeps the previous Listener in force; without one, not serving.
      if (this.active === undefined && this.pending === undefined) this.report(Status.UNAVAILABLE, `Listener ${this.resourceName} is invalid: ${message}`);
      return;
    }
    this.pending?.retire(this.o.routes);
    this.pending = next;
    next.start(this.o.routes, () => this.activate(next));
  }

  private activate(next: ListenerGeneration): void {
    if (this.pending !== next || this.closed) return;
    this.pending = undefined;
    const previous = this.active;
    this.active = next;
    if (previous !== undefined) this.drainGeneration(previous);
    this.report(Status.OK, 'serving');
  }

  private onListenerError(err: Error): void {
    if (this.closed) return;
    this.o.logger.warn('xDS server: Listener update failed', { listener: this.resourceName, error: err.message });
    // A36: errors after a good Listener change nothing; before one, the server reports not serving.
    if (this.active === undefined && this.pending === undefined) this.report(Status.UNAVAILABLE, `Listener ${this.resourceName}: ${err.message}`);
  }

  private onListenerMissing(): void {
    if (this.closed) return;
    this.pending?.retire(this.o.routes);
    this.pending = undefined;
    const previous = this.active;
    this.active = undefined;
    if (previous !== undefined) this.drainGeneration(previous);
    this.report(Status.UNAVAILABLE, `Listener ${this.resourceName} does not exist`);
  }

  private report(code: Status, details: string): void {
    const last = this.lastStatus;
    if (last !== undefined && last.code === code && last.details === details) return;
    // Only transitions are news: OK -> OK is never repeated, UNAVAILABLE repeats only with new details.
    if (last !== undefined && last.code === Status.OK && code === Status.OK) return;
    this.lastStatus = { code, details };
    try {
      this.o.onServingStatus?.(this.address, this.lastStatus);
    } catch (err) {
      this.o.logger.error('xDS server: onServingStatus threw', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Stops using a Listener version: its RDS watches go, its connections are drained (A36). */
  private drainGeneration(gen: ListenerGeneration, graceMs = this.o.drainGraceTimeMs): void {
    gen.retire(this.o.routes);
    for (const [chain, acceptor] of this.tls) {
      if (acceptor.generation === gen) {
        acceptor.dispose();
        this.tls.delete(chain);
      }
    }
    for (const c of this.connections) {
      if (c.generation !== gen) continue;
      if (c.injector !== undefined) c.injector.drain(graceMs);
      else c.socket.destroy(); // still in the TLS handshake: nothing in flight
    }
  }

  // ------------------------------------------------------------------ connections

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    const gen = this.active;
    if (gen === undefined || this.closed) {
      socket.destroy(); // A36: not serving = accept and close
      return;
    }
    const info: ConnectionInfo = {
      destinationIp: socket.localAddress ?? this.bound.ip,
      destinationPort: socket.localPort ?? this.bound.port,
      sourceIp: socket.remoteAddress ?? '',
      sourcePort: socket.remotePort ?? 0,
    };
    const chain = gen.select(info);
    if (chain === undefined) {
      this.o.logger.debug('xDS server: no filter chain matches the connection; closing it', { listener: this.resourceName, source: `${info.sourceIp}:${info.sourcePort}` });
      socket.destroy();
      return;
    }
    const conn: ServerConnection = { socket, generation: gen, chain, injector: undefined };
    this.connections.add(conn);
    socket.once('close', () => {
      this.connections.delete(conn);
      conn.injector?.destroy();
    });
    const facts = { sourceIp: info.sourceIp, sourcePort: info.sourcePort, destinationIp: info.destinationIp, destinationPort: info.destinationPort };
    if (chain.tls === undefined) {
      // Plaintext, or the fallback credentials' own TLS (then grpc-js does the handshake).
      const principals = this.o.credentials._isSecure() ? PeerPrincipals.fromAuthContext() : undefined;
      this.inject(conn, socket, this.o.credentials, facts, principals);
      return;
    }
    let acceptor = this.tls.get(chain);
    if (acceptor === undefined) {
      acceptor = new TlsAcceptor(gen, chain.tls, this.o.logger);
      this.tls.set(chain, acceptor);
    }
    acceptor.accept(socket, (tlsSocket, principal) => {
      if (this.closed || !this.connections.has(conn)) {
        tlsSocket.destroy();
        return;
      }
      // TLS is done: grpc-js serves HTTP/2 over the TLS socket as it would over TCP.
      this.inject(conn, tlsSocket, insecure(), facts, PeerPrincipals.fixed(principal));
    });
  }

  private inject(conn: ServerConnection, stream: Socket | TLSSocket, credentials: ServerCredentials, facts: Omit<ConnectionFacts, 'principal'>, principals: PeerPrincipals | undefined): void {
    const { generation: gen, chain } = conn;
    const interceptor = connectionInterceptor(
      // Written out, not `{ ...facts, principal }`: Node 20's V8 adds a key a spread copy lacks through a
      // slow path (microseconds and a new hidden class per call).
      (call, serverCall) => admitCall(chain, gen.routesOf(chain), this.o.perRoute, { sourceIp: facts.sourceIp, sourcePort: facts.sourcePort, destinationIp: facts.destinationIp, destinationPort: facts.destinationPort, principal: principals?.of(serverCall) }, call),
      (call, a) => {
        if (a.rbac !== undefined) {
          this.o.logger.debug('xDS server: RBAC denied a call', { path: call.path, filter: a.rbac.filter, policy: a.rbac.matchedPolicy, source: `${facts.sourceIp}:${facts.sourcePort}` });
        }
      },
    );
    const injector = this.o.grpcServer.createConnectionInjector(experimental.createServerCredentialsWithInterceptors(credentials, [interceptor]));
    conn.injector = injector;
    injector.injectConnection(stream);
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * Stops accepting and stops watching. Established connections are left to the grpc-js server's
   * own shutdown (graceful in tryShutdown, immediate in forceShutdown); those not yet handed to it
   * are closed. Resolves when the listening socket has closed.
   */
  close(force: boolean): Promise<void> {
    const wasClosed = this.closed;
    this.closed = true;
    if (!wasClosed) {
      this.watch?.dispose();
      this.pending?.retire(this.o.routes);
      this.active?.retire(this.o.routes);
      for (const a of this.tls.values()) a.dispose();
      this.tls.clear();
    }
    for (const c of this.connections) {
      if (c.injector === undefined || force) c.socket.destroy();
    }
    return new Promise((resolve) => {
      if (!this.net.listening) resolve();
      else this.net.close(() => resolve());
    });
  }
}

let insecureCredentials: ServerCredentials | undefined;
function insecure(): ServerCredentials {
  return (insecureCredentials ??= ServerCredentials.createInsecure());
}
