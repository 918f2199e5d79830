import type { QueryParameterMatcher } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { CompiledStringMatcher } from './StringMatcher.js';
import { compileStringMatcher } from './StringMatcher.js';
import type { RouteMatchContext } from './RouteMatchContext.js';

/**
 * A compiled envoy.config.route.v3.QueryParameterMatcher, applied to the first value of the
 * parameter after percent-decoding. `present_match` matches when the parameter's presence equals
 * it, so `present_match: false` matches exactly the requests without the parameter (Envoy's
 * default since the runtime guard enable_new_query_param_present_match_behavior). Otherwise an
 * absent parameter never matches.
 */
export class CompiledQueryParameterMatcher {
  private readonly name: string;
  private readonly value: CompiledStringMatcher | undefined;
  private readonly presentMatch: boolean | undefined;

  constructor(m: QueryParameterMatcher, fieldPath: string) {
    if (m.name === '') throw new ValidationError(`${fieldPath}.name`, 'query parameter name must not be empty');
    this.name = m.name;
    this.value = m.string_match !== undefined ? compileStringMatcher(m.string_match, `${fieldPath}.string_match`) : undefined;
    this.presentMatch = m.string_match === undefined ? m.present_match : undefined;
  }

  matches(ctx: RouteMatchContext): boolean {
    const v = ctx.queryParam(this.name);
    if (this.presentMatch !== undefined) return (v !== undefined) === this.presentMatch;
    if (v === undefined) return false;
    return this.value === undefined ? true : this.value.matches(v);
  }
}
