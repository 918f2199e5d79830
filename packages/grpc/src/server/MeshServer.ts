import { Server, type deserialize as Deserialize, type serialize as Serialize, type ServerCredentials, type ServerOptions, type UntypedHandleCall } from '@grpc/grpc-js';
import { CertificateProviderRegistry } from '@meshlet/core';
import { XdsClient, consoleLogger, resolveBootstrap, type Bootstrap, type Logger, type ResourceSource } from '@meshlet/xds-client';
import { MeshServerCredentials } from './MeshServerCredentials.js';
import { RouteConfigWatches } from './RouteConfigWatches.js';
import { inServerCallContext } from './ServerCallContext.js';
import { listeningAddressText, parseBindTarget, serverListenerResourceName } from './ServerListenerName.js';
import { PerRouteFilterConfigs } from './ServerHttpFilters.js';
import { ServingPort } from './ServingPort.js';
import type { ServingStatusListener } from './ServingStatus.js';

/** grpc-js's handler type, which its index does not export. */
type HandleCall<Req, Res> = Parameters<typeof Server.prototype.register<Req, Res>>[1];

/** gRPC's default grace period for draining connections on a Listener change (gRFC A36 implementations use 10 min). */
const DEFAULT_DRAIN_GRACE_MS = 10 * 60_000;

export interface MeshServerOptions extends ServerOptions {
  /** The xDS client to fetch the Listener and route configurations with (shared with clients in the process). */
  readonly xdsClient?: XdsClient;
  /** Any ResourceSource instead (a StaticResourceSource, a FileSource); then give the template too. */
  readonly source?: ResourceSource;
  /**
   * The bootstrap: where `server_listener_resource_name_template` and `certificate_providers` come
   * from. Default: xdsClient.bootstrap, else GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG (then a
   * client is created for it, owned and closed by this server).
   */
  readonly bootstrap?: Bootstrap | object | string;
  /** Overrides the bootstrap's server_listener_resource_name_template (e.g. with a StaticResourceSource). */
  readonly listenerResourceNameTemplate?: string;
  /** Certificate provider instances for DownstreamTlsContext; default: built from the bootstrap. */
  readonly certificateProviders?: CertificateProviderRegistry;
  /** gRFC A36 `onServingStatusChange`: called per bound address when it starts or stops serving. */
  readonly onServingStatus?: ServingStatusListener;
  /** How long connections of a replaced or removed Listener may finish in-flight calls. Default 10 min. */
  readonly drainGraceTimeMs?: number;
  readonly logger?: Logger;
}

/**
 * An xDS-managed @grpc/grpc-js server (gRFC A36), used like `grpc.Server`: `addService`, then
 * `bindAsync(address, new MeshServerCredentials(ServerCredentials.createInsecure()), cb)`.
 *
 * Each bound address fetches the Listener named by the bootstrap's
 * `server_listener_resource_name_template` (Istio: `xds.istio.io/grpc/lds/inbound/%s`) with `%s` =
 * the bound `ip:port`, and serves only while that Listener is valid: connections are matched to
 * filter chains, mTLS comes from the chain's DownstreamTlsContext (with MeshServerCredentials), and
 * every call must match a NonForwardingAction route and pass the chain's RBAC filters (gRFC A41).
 * The bound port is listening from the start; while not serving, connections are closed at once.
 */
export class MeshServer extends Server {
  private readonly meshOptions: MeshServerOptions;
  private readonly ports = new Set<ServingPort>();
  private ownedClient: XdsClient | undefined;
  private sourceState: { source: ResourceSource; bootstrap: Bootstrap | undefined; routes: RouteConfigWatches; providers: CertificateProviderRegistry | undefined } | undefined;
  private readonly perRoute = new PerRouteFilterConfigs();
  private readonly logger: Logger;
  private shuttingDown = false;

  constructor(options: MeshServerOptions = {}) {
    const { xdsClient: _c, source: _s, bootstrap: _b, listenerResourceNameTemplate: _t, certificateProviders: _p, onServingStatus: _o, drainGraceTimeMs: _d, logger: _l, ...serverOptions } = options;
    super(serverOptions);
    this.meshOptions = options;
    this.logger = options.logger ?? consoleLogger;
  }

  /**
   * Every handler (addService registers through here) runs in its call's OTel context: the SERVER
   * span continuing the caller's trace is the active span in the handler and its stream listeners,
   * so the app's own spans and outgoing calls nest under it.
   */
  override register<RequestType, ResponseType>(
    name: string,
    handler: HandleCall<RequestType, ResponseType>,
    serialize: Serialize<ResponseType>,
    deserialize: Deserialize<RequestType>,
    type: string,
  ): boolean {
    return super.register(name, inServerCallContext(handler as UntypedHandleCall, type) as HandleCall<RequestType, ResponseType>, serialize, deserialize, type);
  }

  /**
   * Binds `port` (`host:port`; port 0 picks one) and starts fetching its Listener. The callback gets
   * the bound port as soon as the socket listens: serving starts when the Listener arrives (watch
   * `onServingStatus`). With MeshServerCredentials the Listener's TLS applies; any other
   * credentials are used for every connection and the Listener's transport sockets are ignored.
   */
  override bindAsync(port: string, creds: ServerCredentials, callback: (error: Error | null, port: number) => void): void {
    let target: { host: string; port: number };
    let state: NonNullable<MeshServer['sourceState']>;
    let template: string;
    try {
      if (this.shuttingDown) throw new Error('bindAsync called after shutdown');
      target = parseBindTarget(port);
      state = this.state();
      const t = this.meshOptions.listenerResourceNameTemplate ?? state.bootstrap?.server_listener_resource_name_template;
      if (t === undefined) throw new Error('no server_listener_resource_name_template in the bootstrap (gRFC A36) and no listenerResourceNameTemplate option');
      template = t;
    } catch (err) {
      process.nextTick(() => callback(err instanceof Error ? err : new Error(String(err)), -1));
      return;
    }
    const xdsSecurity = creds instanceof MeshServerCredentials;
    const servingPort = new ServingPort({
      grpcServer: this,
      source: state.source,
      routes: state.routes,
      perRoute: this.perRoute,
      compile: { xdsSecurity, certificateProviders: state.providers },
      credentials: xdsSecurity ? creds.fallback : creds,
      resourceNameFor: (address) => serverListenerResourceName(template, address),
      addressText: listeningAddressText,
      drainGraceTimeMs: this.meshOptions.drainGraceTimeMs ?? DEFAULT_DRAIN_GRACE_MS,
      onServingStatus: this.meshOptions.onServingStatus,
      logger: this.logger,
    });
    servingPort.listen(target.host, target.port).then(
      (bound) => {
        this.ports.add(servingPort);
        callback(null, bound);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), -1),
    );
  }

  /** The Listener resource names being watched, by bound address (`ip:port`). */
  listenerResourceNames(): ReadonlyMap<string, string> {
    return new Map([...this.ports].map((p) => [p.address, p.resourceName]));
  }

  /** Whether the address bound on `port` is serving (has a valid Listener). */
  isServing(port: number): boolean {
    return [...this.ports].some((p) => p.port === port && p.serving);
  }

  /**
   * Stops accepting, then lets in-flight calls finish (grpc-js tryShutdown: GOAWAY, then wait) and
   * closes the xDS client if this server created it.
   */
  override tryShutdown(callback: (error?: Error) => void): void {
    this.shuttingDown = true;
    const portsClosed = Promise.all([...this.ports].map((p) => p.close(false)));
    const grpcClosed = new Promise<Error | undefined>((resolve) => super.tryShutdown(resolve));
    void Promise.all([portsClosed, grpcClosed]).then(async ([, error]) => {
      await this.releaseSource();
      callback(error);
    });
  }

  /** Aborts every connection and call now (grpc-js forceShutdown) and stops watching. */
  override forceShutdown(): void {
    this.shuttingDown = true;
    for (const p of this.ports) void p.close(true);
    super.forceShutdown();
    void this.releaseSource();
  }

  private state(): NonNullable<MeshServer['sourceState']> {
    if (this.sourceState !== undefined) return this.sourceState;
    const o = this.meshOptions;
    let source: ResourceSource;
    let bootstrap: Bootstrap | undefined;
    if (o.xdsClient !== undefined) {
      source = o.xdsClient;
      bootstrap = o.bootstrap !== undefined ? resolveBootstrap(o.bootstrap) : o.xdsClient.bootstrap;
    } else if (o.source !== undefined) {
      source = o.source;
      bootstrap = o.bootstrap !== undefined ? resolveBootstrap(o.bootstrap) : undefined;
    } else {
      this.ownedClient = o.bootstrap !== undefined ? new XdsClient({ bootstrap: o.bootstrap, logger: this.logger }) : XdsClient.fromEnv({ logger: this.logger });
      source = this.ownedClient;
      bootstrap = this.ownedClient.bootstrap;
    }
    const providers = o.certificateProviders ?? (bootstrap !== undefined ? CertificateProviderRegistry.fromBootstrap(bootstrap.certificate_providers) : undefined);
    this.sourceState = { source, bootstrap, routes: new RouteConfigWatches(source, this.perRoute, this.logger), providers };
    return this.sourceState;
  }

  private async releaseSource(): Promise<void> {
    this.sourceState?.routes.closeAll();
    const client = this.ownedClient;
    this.ownedClient = undefined;
    await client?.close();
  }
}
