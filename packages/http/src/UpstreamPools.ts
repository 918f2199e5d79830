import { Agent, H2CClient, Pool, type Dispatcher, type buildConnector } from 'undici';
import type { UpstreamTls } from '@meshlet/core/client';
import type { Cluster } from '@meshlet/xds-client';
import { tlsConnector } from './TlsConnector.js';

/** Envoy's default max_connections threshold. */
const DEFAULT_MAX_CONNECTIONS = 1024;

/**
 * Requests Meshlet has in flight to one endpoint (`host:port`, either scheme), against the
 * connections its pool may open. Counted by the attempts themselves (begin at dispatch, end when
 * the response stream ends), not read back from undici.
 */
export interface EndpointLoad {
  inFlight: number;
  /** max_connections for an HTTP/1.1 pool (one request per connection); Infinity for HTTP/2. */
  limit: number;
}

/**
 * An endpoint's load with what note() last recorded through it: an attempt with the same origin,
 * cluster model and TLS finds nothing to update, so it costs one map lookup, not three.
 */
interface NotedLoad extends EndpointLoad {
  notedOrigin: string | undefined;
  notedCluster: Cluster | undefined;
  notedTls: UpstreamTls | undefined;
}

/** Envoy's connect_timeout default. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

interface OriginSettings {
  readonly http2: boolean;
  readonly maxConnections: number;
  readonly connectTimeout: number | undefined;
  /** Cluster idle_timeout (ms) when set and non-zero: how long an idle connection is kept. */
  readonly idleTimeout: number | undefined;
  /** Cluster max_requests_per_connection when set: the connection is closed after that many requests. */
  readonly maxRequestsPerConnection: number | undefined;
  readonly tls: UpstreamTls | undefined;
}

/**
 * The upstream side: one undici pool per endpoint origin, shaped by the cluster
 * that sends traffic there. An HTTP/2 cluster (http2_protocol_options or the
 * typed HttpProtocolOptions) gets an h2c client (prior knowledge, as Envoy does
 * over plaintext); an HTTP/1.1 cluster a keep-alive pool capped at the
 * circuit breaker's max_connections. Envoy counts max_connections per cluster;
 * Meshlet caps each endpoint at it, which is the same bound for one-endpoint
 * clusters and looser for larger ones (documented in the README).
 *
 * A pool is created on the first request to its origin; later changes to the
 * cluster's protocol or limits apply to origins seen after them.
 */
export class UpstreamPools {
  private readonly settings = new Map<string, OriginSettings>();
  /** In-flight requests per endpoint `host:port`, to tell when the next one would wait for a connection. */
  private readonly loads = new Map<string, NotedLoad>();
  /** Settings derived once per (immutable) Cluster model, so the per-attempt note() is a map lookup. */
  private readonly byCluster = new WeakMap<Cluster, Omit<OriginSettings, 'tls'>>();
  /** The pool the Agent made for each origin, which attempts are dispatched to directly (see dispatch). */
  private readonly pools = new Map<string, Pool | H2CClient>();
  readonly agent: Agent;

  constructor(options: Agent.Options = {}) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      ...options,
      factory: (origin, opts) => this.create(String(origin), opts),
    });
  }

  /**
   * Remembers how to connect to `origin` (cheap when unchanged: called per attempt) and returns
   * the endpoint's load, which the attempt counts itself into (`endpoint` is origin without the scheme).
   */
  note(origin: string, endpoint: string, cluster: Cluster, tls?: UpstreamTls): EndpointLoad {
    let load = this.loads.get(endpoint);
    // The same origin, cluster model (immutable, replaced on each push) and TLS as last time: the
    // limit and the origin's settings are what that note left (an origin has one endpoint, one load).
    if (load !== undefined && load.notedCluster === cluster && load.notedOrigin === origin && load.notedTls === tls) return load;
    let derived = this.byCluster.get(cluster);
    if (derived === undefined) {
      derived = {
        http2: cluster.protocol === 'HTTP2',
        maxConnections: cluster.circuit_breakers?.thresholds.find((t) => t.priority === 'DEFAULT')?.max_connections ?? DEFAULT_MAX_CONNECTIONS,
        connectTimeout: cluster.connect_timeout,
        idleTimeout: cluster.idle_timeout || undefined,
        maxRequestsPerConnection: cluster.max_requests_per_connection,
      };
      this.byCluster.set(cluster, derived);
    }
    const limit = derived.http2 ? Number.POSITIVE_INFINITY : derived.maxConnections;
    if (load === undefined) this.loads.set(endpoint, (load = { inFlight: 0, limit, notedOrigin: undefined, notedCluster: undefined, notedTls: undefined }));
    else load.limit = limit;
    load.notedOrigin = origin;
    load.notedCluster = cluster;
    load.notedTls = tls;
    const prev = this.settings.get(origin);
    if (
      prev &&
      prev.http2 === derived.http2 &&
      prev.maxConnections === derived.maxConnections &&
      prev.connectTimeout === derived.connectTimeout &&
      prev.idleTimeout === derived.idleTimeout &&
      prev.maxRequestsPerConnection === derived.maxRequestsPerConnection &&
      prev.tls === tls
    )
      return load;
    this.settings.set(origin, { ...derived, tls });
    return load;
  }

  /**
   * The dispatch the mesh sends through (MeshDispatcher hands it to the interceptor): an attempt to
   * an origin the Agent has a pool for goes straight to that pool, because going through
   * Agent.dispatch cost 2 to 3.6 µs more client CPU per request at 64 in flight (same-process A/B,
   * both role orders); anything else (a first request to an origin, a passthrough request) goes
   * through the Agent. The Agent still owns the pools: it closes an origin's pool when the last
   * connection goes, and a closed or destroyed pool is passed over here, so the Agent makes the
   * next one (create() then records it).
   */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = opts.origin;
    const pool = typeof origin === 'string' ? this.pools.get(origin) : undefined;
    if (pool !== undefined && !pool.closed && !pool.destroyed) return pool.dispatch(opts, handler);
    return this.agent.dispatch(opts, handler);
  }

  private create(origin: string, opts: Agent.Options): Dispatcher {
    const pool = this.make(origin, opts);
    this.pools.set(origin, pool);
    // The Agent closes an origin's pool in its own 'disconnect' / 'connectionError' listener once no
    // connection is left; a pool emits nothing when closed, so look once the Agent's listener has run.
    const check = (): void => queueMicrotask(() => this.forgetIfClosed(origin, pool));
    pool.on('disconnect', check).on('connectionError', check);
    return pool;
  }

  /** Drops a closed pool, and its endpoint's load when idle, so endpoints that left do not accumulate. */
  private forgetIfClosed(origin: string, pool: Pool | H2CClient): void {
    if (!pool.closed && !pool.destroyed) return;
    if (this.pools.get(origin) === pool) this.pools.delete(origin);
    const endpoint = origin.slice(origin.indexOf('//') + 2);
    if (this.loads.get(endpoint)?.inFlight === 0) this.loads.delete(endpoint);
  }

  /** How many origins have a pool (one the Agent closed is dropped: diagnostics and tests). */
  get origins(): number {
    return this.pools.size;
  }

  private make(origin: string, opts: Agent.Options): Pool | H2CClient {
    const s = this.settings.get(origin);
    const connectTimeout = s?.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (s?.http2 && !s.tls && origin.startsWith('http:')) {
      return new H2CClient(origin, { ...(opts as H2CClient.Options), connectTimeout, maxConcurrentStreams: 100 });
    }
    const pool: Pool.Options = { ...opts, connectTimeout, connections: s?.maxConnections ?? DEFAULT_MAX_CONNECTIONS };
    // The cluster's idle_timeout bounds how long an idle connection is kept, a server's Keep-Alive hint
    // included; unset, undici's keep-alive (30 s here, shorter when the server hints so) applies.
    if (s?.idleTimeout !== undefined) pool.keepAliveTimeout = pool.keepAliveMaxTimeout = s.idleTimeout;
    const maxRequests = s?.maxRequestsPerConnection;
    // undici sends `connection: close` on the request after maxRequestsPerClient, so a connection carries
    // one more than it says: Envoy's N is N - 1 there, and 1 is no keep-alive at all (pipelining 0).
    if (maxRequests === 1) pool.pipelining = 0;
    else if (maxRequests !== undefined && maxRequests > 1) pool.maxRequestsPerClient = maxRequests - 1;
    if (s?.tls) {
      // mTLS: our connector does the handshake (per-socket material, SAN checks, Istio ALPN);
      // undici speaks h2 when the server selects it.
      pool.allowH2 = s.http2;
      pool.connect = this.currentTlsConnector(origin, s.tls, s.http2, connectTimeout);
    }
    return new Pool(origin, pool);
  }

  /**
   * A pool lives as long as its origin has connections, across cluster updates; its connector reads the
   * origin's TLS context and connect_timeout as they are when each connection opens, so a changed
   * UpstreamTlsContext (SANs, roots, ALPN) applies to the next connection, as Envoy's new connections
   * use the updated cluster. (http2 and max_connections are fixed when the pool is made.)
   */
  private currentTlsConnector(origin: string, tls: UpstreamTls, http2: boolean, connectTimeout: number): buildConnector.connector {
    let last: { tls: UpstreamTls; connectTimeout: number; connect: buildConnector.connector } | undefined;
    return (opts, callback) => {
      const s = this.settings.get(origin);
      const nowTls = s?.tls ?? tls;
      const nowTimeout = s === undefined ? connectTimeout : (s.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS);
      if (last === undefined || last.tls !== nowTls || last.connectTimeout !== nowTimeout) {
        last = { tls: nowTls, connectTimeout: nowTimeout, connect: tlsConnector(nowTls, http2, nowTimeout) };
      }
      last.connect(opts, callback);
    };
  }

  /**
   * Whether a request to `endpoint` (`host:port`) would wait for a connection now: Meshlet's own
   * requests there already fill max_connections (HTTP/1.1, one request per connection). HTTP/2
   * multiplexes and never makes a request pending here.
   */
  wouldQueue(endpoint: string): boolean {
    const load = this.loads.get(endpoint);
    return load !== undefined && load.inFlight >= load.limit;
  }
}
