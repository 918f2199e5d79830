import type { CompiledRoute } from './CompiledRoute.js';

/** Paths remembered per virtual host (a client calls a few methods); past it the oldest is forgotten. */
export const GRPC_PATHS_REMEMBERED = 256;

/**
 * The route index a gRPC request's path matches, remembered per path, for a virtual host whose every
 * route matches on the path alone (RouteMatcher.pathOnly: no header, query parameter or runtime_fraction
 * condition, no connect_matcher). First-match-wins over such routes is a function of the path and of
 * whether the request is gRPC (a route's `grpc` condition), so for gRPC requests it is a function of the
 * path: the remembered index is the one matching again would give. A gRPC path is a method name, the same
 * few per client; HTTP requests (paths with ids in them, often) do not use it. Made with the virtual host,
 * once per config push, so it never outlives the routes it indexes.
 */
export class GrpcPathRoutes {
  private readonly indices = new Map<string, number>();

  private constructor() {}

  /** Undefined when a route of the virtual host reads more than the path. */
  static of(routes: readonly CompiledRoute[]): GrpcPathRoutes | undefined {
    return routes.every((route) => route.matcher.pathOnly) ? new GrpcPathRoutes() : undefined;
  }

  /** The route index remembered for `path` (-1: none matches), undefined when not known yet. */
  get(path: string): number | undefined {
    return this.indices.get(path);
  }

  /**
   * Past the limit the path remembered first is forgotten (a Map iterates in insertion order), not the
   * whole map: the methods a client calls most stay remembered while rare ones come and go.
   */
  remember(path: string, index: number): void {
    const indices = this.indices;
    if (indices.size >= GRPC_PATHS_REMEMBERED) indices.delete(indices.keys().next().value!);
    indices.set(path, index);
  }

  get size(): number {
    return this.indices.size;
  }
}
