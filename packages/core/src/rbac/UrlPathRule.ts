import { ValidationError } from '@meshlet/xds-client';
import type { StringMatcher } from '@meshlet/xds-client';
import { compileStringMatcher } from '../routing/StringMatcher.js';
import type { CompiledStringMatcher } from '../routing/StringMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import type { RbacRequestContext } from './RbacRequestContext.js';
import { asObject } from './RbacRuleReader.js';

/**
 * `url_path`: an envoy.type.matcher.v3.PathMatcher (`{ path: StringMatcher }`) applied to the path
 * without its query string. For gRPC that is the fully-qualified method, `/pkg.Service/Method` (A41).
 */
export class UrlPathRule implements RbacMatcher {
  private readonly matcher: CompiledStringMatcher;

  constructor(raw: unknown, fieldPath: string) {
    const o = asObject(raw, fieldPath);
    if (o['path'] === undefined) throw new ValidationError(fieldPath, 'PathMatcher.path is required');
    this.matcher = compileStringMatcher(asObject(o['path'], `${fieldPath}.path`) as StringMatcher, `${fieldPath}.path`);
  }

  matches(ctx: RbacRequestContext): boolean {
    return this.matcher.matches(ctx.pathWithoutQuery);
  }
}
