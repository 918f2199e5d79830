import { Agent, Dispatcher } from 'undici';
import { CertificateProviderRegistry, Mesh, UpstreamTlsFactory } from '@meshlet/core/client';
import { XdsClient, type Bootstrap, type ResourceSource, type XdsClientOptions } from '@meshlet/xds-client';
import { meshInterceptor, type MeshInterceptorOptions } from './meshInterceptor.js';
import { UpstreamPools } from './UpstreamPools.js';

export interface MeshDispatcherOptions extends Omit<MeshInterceptorOptions, 'mesh'> {
  /** The embedded default: a mesh.yaml of Istio resources, translated in-process and reloaded on change. */
  readonly meshConfig?: string;
  /**
   * istiod or any xDS server: a gRPC xDS bootstrap (parsed, an object, JSON text or a file path).
   * `true` reads GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG, as proxyless gRPC does.
   */
  readonly bootstrap?: Bootstrap | object | string | true;
  /** Options for the XdsClient created for `bootstrap` (backoff, does-not-exist timer, lastKnownGood...). */
  readonly xds?: Omit<XdsClientOptions, 'bootstrap'>;
  /** Any ResourceSource: an XdsClient, a FileSource, a StaticResourceSource. */
  readonly source?: ResourceSource;
  /** An existing Mesh to share (e.g. with @meshlet/grpc). Not closed by this dispatcher. */
  readonly mesh?: Mesh;
  /** Options for the undici Agent that carries the attempts (pools per endpoint). */
  readonly agent?: Agent.Options;
  /** How long the first request to a new target waits for its config (ms, default 5000). */
  readonly resolveTimeoutMs?: number;
  /**
   * Certificate providers for mTLS (e.g. `CertificateProviderRegistry.of({ default: provider })`).
   * With `bootstrap`, the bootstrap's `certificate_providers` (istio-agent's file_watcher) are used.
   */
  readonly certificateProviders?: CertificateProviderRegistry;
  /**
   * Told when new config is rejected while the last good config keeps serving: a mesh.yaml edit that
   * does not translate (`meshConfig`), or a resource the mesh could not use. Without it, a rejected
   * mesh.yaml reload is reported with process.emitWarning (Envoy logs rejected updates too).
   */
  readonly onConfigError?: (error: Error, target?: string) => void;
}

/**
 * An undici Dispatcher that sends requests through the mesh: use it with
 * `fetch(url, { dispatcher })`, `undici.request`, or `setGlobalDispatcher` so
 * Node's global fetch goes through it. `close()` drains in-flight requests and
 * stops config watching; `destroy()` aborts them.
 */
export class MeshDispatcher extends Dispatcher {
  readonly mesh: Mesh;
  /**
   * The certificate providers this dispatcher uses for mTLS: the ones passed in, or those built from
   * the bootstrap's `certificate_providers`. Exposed so operators can bind `bindCertificateMetrics`
   * (certificate expiry) to them; undefined when no provider is configured.
   */
  readonly certificateProviders: CertificateProviderRegistry | undefined;
  private readonly agent: Agent;
  /** The mesh interceptor over the agent, called directly: see dispatch(). */
  private readonly meshDispatch: Dispatcher['dispatch'];
  private readonly owned: Array<{ close(): void }>;

  constructor(mesh: Mesh, options: Omit<MeshDispatcherOptions, 'mesh' | 'meshConfig' | 'source'> = {}, owned: Array<{ close(): void }> = []) {
    super();
    this.mesh = mesh;
    this.owned = owned;
    this.certificateProviders = options.certificateProviders;
    const pools = new UpstreamPools(options.agent);
    this.agent = pools.agent;
    // Certificate files are read now, not at the first mTLS request (which would wait for them).
    options.certificateProviders?.startAll();
    const tls = options.certificateProviders ? new UpstreamTlsFactory(options.certificateProviders) : undefined;
    this.meshDispatch = meshInterceptor({ ...options, mesh, pools, tls })(pools.dispatch.bind(pools));
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // Not through agent.compose(): that wraps a legacy handler (undici.request's, fetch's) in an adapter
    // before the interceptor sees it, and each response's headers would be converted back to Buffers.
    return this.meshDispatch(opts, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const p = this.agent.close().then(() => this.release());
    if (callback) void p.then(callback);
    else return p;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const err = typeof errOrCallback === 'function' ? null : errOrCallback ?? null;
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback;
    const p = this.agent.destroy(err).then(() => this.release());
    if (cb) void p.then(cb);
    else return p;
  }

  private release(): void {
    for (const o of this.owned) o.close();
    this.owned.length = 0;
  }
}

/**
 * Builds a MeshDispatcher from one config source: `meshConfig` (mesh.yaml, no
 * control plane), `bootstrap` (ADS to istiod or any xDS server), `source`, or an
 * existing `mesh`.
 */
export async function createMeshDispatcher(options: MeshDispatcherOptions): Promise<MeshDispatcher> {
  const owned: Array<{ close(): void }> = [];
  let certificateProviders = options.certificateProviders;
  let mesh = options.mesh;
  if (!mesh) {
    let source = options.source;
    if (!source && options.meshConfig) {
      const report = options.onConfigError ?? ((error: Error) => process.emitWarning(error.message, 'MeshletConfigWarning'));
      // Loaded here, not at the top: only mesh.yaml needs the Istio translator (and yaml), and a
      // dispatcher fed by xDS or a ResourceSource should not carry it (footprint, BENCHMARKS.md).
      const { MeshFileSource } = await import('@meshlet/control-plane');
      const file = new MeshFileSource(options.meshConfig, { onReload: (r) => void (r.ok ? undefined : report(r.error)) });
      owned.push(file);
      source = file;
    }
    if (!source && options.bootstrap) {
      const client = options.bootstrap === true ? XdsClient.fromEnv(options.xds) : new XdsClient({ ...options.xds, bootstrap: options.bootstrap });
      owned.push({ close: () => void client.close() });
      source = client;
      // The bootstrap's certificate_providers (istio-agent's file_watcher) serve mTLS clusters, as documented above.
      if (!certificateProviders && Object.keys(client.bootstrap.certificate_providers).length > 0) {
        const registry = CertificateProviderRegistry.fromBootstrap(client.bootstrap.certificate_providers);
        // Started before the first xDS config arrives, so the files are usually read by the first request.
        registry.startAll();
        owned.push(registry);
        certificateProviders = registry;
      }
    }
    if (!source) throw new TypeError('meshlet: createMeshDispatcher needs one of meshConfig, bootstrap, source or mesh');
    const onConfigError = options.onConfigError;
    mesh = await Mesh.create({
      source,
      resolveTimeoutMs: options.resolveTimeoutMs,
      // A rejected mesh.yaml reload is already reported once above, not again per target.
      ...(onConfigError && !options.meshConfig ? { onError: (target: string, error: Error) => onConfigError(error, target) } : {}),
    });
    owned.unshift(mesh);
  }
  return new MeshDispatcher(mesh, { ...options, certificateProviders }, owned);
}
