import type { RouteConfiguration, VirtualHost } from '@meshlet/xds-client';
import { CompiledRoute } from './CompiledRoute.js';
import { GrpcPathRoutes } from './GrpcPathRoutes.js';
import { RouteCandidates } from './RouteCandidates.js';
import type { RouteMatchResult } from './RouteTable.js';

/** A virtual host with its routes compiled, in config order (first match wins). */
export class CompiledVirtualHost {
  readonly routes: readonly CompiledRoute[];
  /** One frozen RouteMatchResult per route, so RouteTable.match hands out results without allocating. */
  readonly results: readonly RouteMatchResult[];
  /** The routes worth trying for a path, by its second character; undefined: try them all. */
  readonly candidates: RouteCandidates | undefined;
  /** The route per gRPC path, remembered, when every route matches on the path alone; undefined otherwise. */
  readonly grpcPaths: GrpcPathRoutes | undefined;

  constructor(
    readonly virtualHost: VirtualHost,
    config: RouteConfiguration,
    readonly fieldPath: string,
  ) {
    this.routes = virtualHost.routes.map(
      (route, i) => new CompiledRoute(route, { config, virtualHost, fieldPath: `${fieldPath}.routes[${i}]`, virtualHostFieldPath: fieldPath }),
    );
    this.results = this.routes.map((route) => Object.freeze({ virtualHost: this, route }));
    this.candidates = RouteCandidates.of(this.routes.map((route) => route.matcher.path.literalStart));
    this.grpcPaths = GrpcPathRoutes.of(this.routes);
  }

  get name(): string {
    return this.virtualHost.name;
  }
}
