import type { RouteConfiguration, VirtualHost } from '@meshlet/xds-client';
import { CompiledRoute } from './CompiledRoute.js';
import type { RouteMatchResult } from './RouteTable.js';

/** A virtual host with its routes compiled, in config order (first match wins). */
export class CompiledVirtualHost {
  readonly routes: readonly CompiledRoute[];
  /** One frozen RouteMatchResult per route, so RouteTable.match hands out results without allocating. */
  readonly results: readonly RouteMatchResult[];

  constructor(
    readonly virtualHost: VirtualHost,
    config: RouteConfiguration,
    readonly fieldPath: string,
  ) {
    this.routes = virtualHost.routes.map(
      (route, i) => new CompiledRoute(route, { config, virtualHost, fieldPath: `${fieldPath}.routes[${i}]`, virtualHostFieldPath: fieldPath }),
    );
    this.results = this.routes.map((route) => Object.freeze({ virtualHost: this, route }));
  }

  get name(): string {
    return this.virtualHost.name;
  }
}
