import type { RouteMatch } from '@meshlet/xds-client';
import { CompiledHeaderMatcher } from './HeaderMatcher.js';
import { PathMatcher } from './PathMatcher.js';
import { CompiledQueryParameterMatcher } from './QueryParameterMatcher.js';
import type { RouteMatchContext } from './RouteMatchContext.js';
import { fractionDenominator } from './FractionalPercent.js';

/**
 * A compiled RouteMatch: the path specifier, then grpc, headers, query parameters and finally
 * runtime_fraction (last, so the random draw only happens for otherwise-matching requests). All
 * conditions must hold.
 */
export class RouteMatcher {
  readonly path: PathMatcher;
  private readonly headers: readonly CompiledHeaderMatcher[];
  private readonly queryParameters: readonly CompiledQueryParameterMatcher[];
  private readonly grpc: boolean;
  /** runtime_fraction.default_value as a probability in [0,1], or undefined. No runtime: runtime_key is ignored. */
  private readonly fraction: number | undefined;

  constructor(match: RouteMatch, fieldPath: string) {
    this.path = new PathMatcher(match, fieldPath);
    this.headers = match.headers.map((h, i) => new CompiledHeaderMatcher(h, `${fieldPath}.headers[${i}]`));
    this.queryParameters = match.query_parameters.map((q, i) => new CompiledQueryParameterMatcher(q, `${fieldPath}.query_parameters[${i}]`));
    this.grpc = match.grpc === true;
    const rf = match.runtime_fraction?.default_value;
    // Envoy clamps a numerator above the denominator to 100%.
    this.fraction = rf === undefined ? undefined : Math.min(rf.numerator, fractionDenominator(rf.denominator)) / fractionDenominator(rf.denominator);
  }

  /** The match reads only the request's path (and whether it is gRPC): no header, query, runtime_fraction or CONNECT condition. */
  get pathOnly(): boolean {
    return this.headers.length === 0 && this.queryParameters.length === 0 && this.fraction === undefined && this.path.kind !== 'connect_matcher';
  }

  matches(ctx: RouteMatchContext): boolean {
    if (!this.path.matches(ctx)) return false;
    if (this.grpc && !ctx.req.isGrpc) return false;
    const req = ctx.req;
    for (let i = 0; i < this.headers.length; i++) if (!this.headers[i]!.matches(req)) return false;
    for (let i = 0; i < this.queryParameters.length; i++) if (!this.queryParameters[i]!.matches(ctx)) return false;
    if (this.fraction !== undefined && !(ctx.randomFraction() < this.fraction)) return false;
    return true;
  }
}
