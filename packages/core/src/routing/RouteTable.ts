import type { RouteConfiguration } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { CompiledRoute } from './CompiledRoute.js';
import { CompiledVirtualHost } from './CompiledVirtualHost.js';
import type { RequestView } from './RequestView.js';
import { RouteMatchContext } from './RouteMatchContext.js';
import { VirtualHostSelector } from './VirtualHostSelector.js';

export interface RouteMatchResult {
  readonly virtualHost: CompiledVirtualHost;
  readonly route: CompiledRoute;
}

/**
 * A RouteConfiguration compiled once per config push. `match` is the per-request hot path: a cached
 * virtual-host lookup, then the routes in order (first match wins), with no allocation unless a
 * route needs the query string or a regex needs the query-less path.
 */
export class RouteTable {
  private readonly selector: VirtualHostSelector<CompiledVirtualHost>;
  private readonly context = new RouteMatchContext();

  private constructor(
    readonly config: RouteConfiguration,
    readonly virtualHosts: readonly CompiledVirtualHost[],
  ) {
    this.selector = new VirtualHostSelector(
      virtualHosts.map((vh) => ({ domains: vh.virtualHost.domains, value: vh })),
      config.ignore_port_in_host_matching === true,
    );
  }

  /** @throws ValidationError (resourceName = the route configuration name) on invalid config, e.g. a regex RE2 rejects. */
  static compile(config: RouteConfiguration): RouteTable {
    try {
      const vhosts = config.virtual_hosts.map((vh, i) => new CompiledVirtualHost(vh, config, `virtual_hosts[${i}]`));
      return new RouteTable(config, vhosts);
    } catch (err) {
      if (err instanceof ValidationError && err.resourceName === undefined) {
        throw new ValidationError(err.fieldPath, err.reason, config.name);
      }
      throw err;
    }
  }

  get name(): string {
    return this.config.name;
  }

  selectVirtualHost(authority: string): CompiledVirtualHost | undefined {
    return this.selector.select(authority);
  }

  /** First matching route of the selected virtual host; undefined = no route (Envoy NR -> 404). `random` in [0,1) drives runtime_fraction. */
  match(req: RequestView, random: () => number = Math.random): RouteMatchResult | undefined {
    const vh = this.selector.select(req.authority);
    if (vh === undefined) return undefined;
    const byPath = req.isGrpc ? vh.grpcPaths : undefined;
    let i = byPath?.get(req.path);
    if (i === undefined) {
      i = this.matchIndex(vh, req, random);
      byPath?.remember(req.path, i);
    }
    return i < 0 ? undefined : vh.results[i];
  }

  /** Route matching within an already selected virtual host. */
  matchRoute(vh: CompiledVirtualHost, req: RequestView, random: () => number = Math.random): CompiledRoute | undefined {
    const i = this.matchIndex(vh, req, random);
    return i < 0 ? undefined : vh.routes[i];
  }

  private matchIndex(vh: CompiledVirtualHost, req: RequestView, random: () => number): number {
    const ctx = this.context.busy ? new RouteMatchContext() : this.context;
    ctx.busy = true;
    try {
      ctx.reset(req, random);
      const routes = vh.routes;
      const list = vh.candidates?.for(req.path, ctx.pathEnd);
      if (list === undefined) {
        for (let i = 0; i < routes.length; i++) {
          if (routes[i]!.matcher.matches(ctx)) return i;
        }
        return -1;
      }
      for (let j = 0; j < list.length; j++) {
        const i = list[j]!;
        if (routes[i]!.matcher.matches(ctx)) return i;
      }
      return -1;
    } finally {
      ctx.release();
    }
  }
}
