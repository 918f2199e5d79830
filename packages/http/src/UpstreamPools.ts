import { Agent, H2CClient, Pool, type Dispatcher } from 'undici';
import type { UpstreamTls } from '@meshlet/core';
import type { Cluster } from '@meshlet/xds-client';
import { tlsConnector } from './TlsConnector.js';

/** Envoy's default max_connections threshold. */
const DEFAULT_MAX_CONNECTIONS = 1024;

interface OriginSettings {
  readonly http2: boolean;
  readonly maxConnections: number;
  readonly connectTimeout: number | undefined;
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
  /** HTTP/1.1 pools by origin, to tell when the next request would wait for a connection. */
  private readonly pools = new Map<string, { pool: Pool; limit: number }>();
  /** Settings derived once per (immutable) Cluster model, so the per-attempt note() is a map lookup. */
  private readonly byCluster = new WeakMap<Cluster, Omit<OriginSettings, 'tls'>>();
  readonly agent: Agent;

  constructor(options: Agent.Options = {}) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      ...options,
      factory: (origin, opts) => this.create(String(origin), opts),
    });
  }

  /** Remembers how to connect to `origin` (cheap when unchanged: called per attempt). */
  note(origin: string, cluster: Cluster, tls?: UpstreamTls): void {
    let derived = this.byCluster.get(cluster);
    if (derived === undefined) {
      derived = {
        http2: cluster.protocol === 'HTTP2',
        maxConnections: cluster.circuit_breakers?.thresholds.find((t) => t.priority === 'DEFAULT')?.max_connections ?? DEFAULT_MAX_CONNECTIONS,
        connectTimeout: cluster.connect_timeout,
      };
      this.byCluster.set(cluster, derived);
    }
    const prev = this.settings.get(origin);
    if (prev && prev.http2 === derived.http2 && prev.maxConnections === derived.maxConnections && prev.connectTimeout === derived.connectTimeout && prev.tls === tls) return;
    this.settings.set(origin, { ...derived, tls });
  }

  private create(origin: string, opts: Agent.Options): Dispatcher {
    const s = this.settings.get(origin);
    const connectTimeout = s?.connectTimeout ?? 5_000; // Envoy's connect_timeout default is 5 s
    if (s?.tls) {
      // mTLS: our connector does the handshake (per-socket material, SAN checks, Istio ALPN);
      // undici speaks h2 when the server selects it.
      return this.track(origin, new Pool(origin, { ...opts, connectTimeout, connections: s.maxConnections, allowH2: s.http2, connect: tlsConnector(s.tls, s.http2, connectTimeout) }), s.http2 ? Infinity : s.maxConnections);
    }
    if (s?.http2 && origin.startsWith('http:')) {
      return new H2CClient(origin, { ...(opts as H2CClient.Options), connectTimeout, maxConcurrentStreams: 100 });
    }
    const limit = s?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    return this.track(origin, new Pool(origin, { ...opts, connectTimeout, connections: limit }), limit);
  }

  private track(origin: string, pool: Pool, limit: number): Pool {
    this.pools.set(origin, { pool, limit });
    pool.once('close' as never, () => this.pools.delete(origin));
    return pool;
  }

  /**
   * Whether a request to `origin` would wait for a connection now: every one of the pool's
   * max_connections is busy (HTTP/1.1, one request per connection). HTTP/2 pools multiplex and
   * never make a request pending here.
   */
  wouldQueue(origin: string): boolean {
    const p = this.pools.get(origin);
    return p !== undefined && poolSize(p.pool) >= p.limit;
  }
}

/**
 * `pool.stats.size` (queued + pending + running requests) without the rest of PoolStats: building
 * it walks every client of the pool six times (connected, free, pending...), which was about 7% of
 * the HTTP profile at 64 in flight since wouldQueue asks per attempt. undici's own size getter is
 * found once, by its symbol's description; if a future undici lacks it, stats.size is used.
 */
function poolSize(pool: Pool): number {
  if (sizeSymbol === undefined) sizeSymbol = findSizeSymbol(pool);
  return sizeSymbol === null ? pool.stats.size : ((pool as unknown as Record<symbol, number>)[sizeSymbol] as number);
}

let sizeSymbol: symbol | null | undefined;

function findSizeSymbol(pool: Pool): symbol | null {
  for (let proto = Object.getPrototypeOf(pool) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const sym of Object.getOwnPropertySymbols(proto)) {
      if (sym.description !== 'size') continue;
      const d = Object.getOwnPropertyDescriptor(proto, sym);
      // Trust it only when it agrees with the public figure.
      if (d?.get !== undefined && (pool as unknown as Record<symbol, unknown>)[sym] === pool.stats.size) return sym;
    }
  }
  return null;
}
