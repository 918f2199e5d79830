import { FilterChainSelector, IpAddress, type ConnectionInfo } from '@meshlet/core';
import { ValidationError, type FilterChain, type Listener } from '@meshlet/xds-client';
import type { RouteConfigState, RouteConfigWatches } from './RouteConfigWatches.js';
import { ServerFilterChain, type FilterChainCompileContext } from './ServerFilterChain.js';

const TLS_READY_TIMEOUT_MS = 10_000;

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    p.then(
      () => (clearTimeout(timer), resolve()),
      () => (clearTimeout(timer), resolve()),
    );
  });
}

/** Where the server listens, as A36 compares it with the Listener's address. */
export interface BoundAddress {
  readonly ip: string;
  readonly port: number;
}

/**
 * One accepted version of the server's Listener, compiled: filter chain selection, each chain's
 * compiled config, and the RDS subscriptions it holds. A Listener update builds a new generation;
 * the old one is retired once the new one is ready (its RDS answered), and its connections drained.
 */
export class ListenerGeneration {
  private readonly routeStates = new Map<string, RouteConfigState>();
  private retired = false;

  private constructor(
    readonly listener: Listener,
    readonly selector: FilterChainSelector,
    private readonly chains: ReadonlyMap<FilterChain, ServerFilterChain>,
  ) {}

  /**
   * Validates a Listener for a server bound at `bound` (gRFC A36) and compiles it.
   * @throws ValidationError (or MeshletTlsError) naming the offending field.
   */
  static compile(listener: Listener, bound: BoundAddress, ctx: FilterChainCompileContext): ListenerGeneration {
    if (listener.api_listener !== undefined) throw new ValidationError('api_listener', 'a server Listener must not have an api_listener (gRFC A36)');
    const addr = listener.address;
    if (addr === undefined) throw new ValidationError('address', 'a server Listener needs a socket_address (gRFC A36)');
    // A36: the Listener must describe the address the server is bound to: same port, same IP.
    const want = IpAddress.parse(bound.ip);
    const got = IpAddress.parse(addr.address);
    if (addr.port_value !== bound.port || want === undefined || got === undefined || !want.equals(got)) {
      throw new ValidationError('address.socket_address', `Listener address ${addr.address}:${addr.port_value} does not match the bound address ${bound.ip}:${bound.port} (gRFC A36)`);
    }
    const selector = FilterChainSelector.compile(listener, { mode: 'grpc' });
    const chains = new Map<FilterChain, ServerFilterChain>();
    listener.filter_chains.forEach((fc, i) => chains.set(fc, ServerFilterChain.compile(fc, `filter_chains[${i}]`, ctx)));
    if (listener.default_filter_chain !== undefined) {
      chains.set(listener.default_filter_chain, ServerFilterChain.compile(listener.default_filter_chain, 'default_filter_chain', ctx));
    }
    return new ListenerGeneration(listener, selector, chains);
  }

  /** The chain for a new connection (A36: no match and no default chain = close the connection). */
  select(conn: ConnectionInfo): ServerFilterChain | undefined {
    const fc = this.selector.selectOrDefault(conn);
    return fc === undefined ? undefined : this.chains.get(fc);
  }

  /**
   * Subscribes to the route configurations the chains name and calls `onReady` once every one of
   * them has answered and every TLS chain's certificate providers have material (or failed), so
   * the new Listener takes over with its routes in place (gRFC A36).
   */
  start(rds: RouteConfigWatches, onReady: () => void): void {
    for (const chain of this.chains.values()) {
      if (chain.rdsName !== undefined && !this.routeStates.has(chain.rdsName)) this.routeStates.set(chain.rdsName, rds.acquire(chain.rdsName));
    }
    // Waiting for certificates is bounded: a provider that never delivers fails its chain's
    // handshakes (fail closed) rather than keep the whole Listener from serving.
    const tlsReady = Promise.all([...this.chains.values()].map((c) => (c.tls === undefined ? undefined : withTimeout(c.tls.ready(), TLS_READY_TIMEOUT_MS))));
    const pending = [...this.routeStates.values()].filter((s) => !s.resolved);
    let remaining = pending.length + 1;
    const done = (): void => {
      if (--remaining === 0 && !this.retired) onReady();
    };
    for (const s of pending) s.waiters.add(done);
    void tlsReady.then(done);
  }

  /** The routes of a chain as of now: RDS updates apply to live connections (A36). */
  routesOf(chain: ServerFilterChain): RouteConfigState | ServerFilterChain['inlineRoutes'] {
    if (chain.inlineRoutes !== undefined) return chain.inlineRoutes;
    return this.routeStates.get(chain.rdsName!);
  }

  retire(rds: RouteConfigWatches): void {
    if (this.retired) return;
    this.retired = true;
    for (const s of this.routeStates.values()) rds.release(s);
    this.routeStates.clear();
  }
}
