import type { HeaderMatcher } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { CompiledHeaderMatcher } from '../routing/HeaderMatcher.js';
import type { RequestView } from '../routing/RequestView.js';
import { ConstantMatcher } from './RbacMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import type { RbacRequestContext } from './RbacRequestContext.js';
import { asObject } from './RbacRuleReader.js';

/**
 * Hop-by-hop headers (RFC 7230 §6.1). gRFC A41: RBAC must not match them; HTTP/2 forbids all but
 * `te`, which a transport may still expose. They are evaluated as absent.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

const NOTHING: RequestView = { authority: '', path: '', method: '', isGrpc: true, headers: { get: () => undefined } };

/** range_match bounds are int64: protobufjs object form gives them as strings. */
function int64(v: unknown, fieldPath: string): number {
  const n = typeof v === 'string' ? Number(v) : v ?? 0;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new ValidationError(fieldPath, `invalid int64 ${JSON.stringify(v)}`);
  return n;
}

/** `header` in a Permission or Principal: an envoy.config.route.v3.HeaderMatcher with gRFC A41's restrictions. */
export function compileHeaderRule(raw: unknown, fieldPath: string): RbacMatcher {
  const o = asObject(raw, fieldPath);
  const name = typeof o['name'] === 'string' ? o['name'].toLowerCase() : '';
  // gRFC A41: a header matcher on a grpc- header or :scheme is a validation failure (NACK).
  if (name.startsWith('grpc-') || name === ':scheme') {
    throw new ValidationError(`${fieldPath}.name`, `RBAC header matchers must not match ${JSON.stringify(name)} (gRFC A41)`);
  }
  const range = o['range_match'] as { start?: unknown; end?: unknown } | undefined;
  const m = {
    ...(o as unknown as HeaderMatcher),
    // gRFC A41: Host and :authority are one header; the policy's spelling must not matter.
    name: name === 'host' ? ':authority' : name,
    invert_match: o['invert_match'] === true,
    ...(range ? { range_match: { start: int64(range.start, `${fieldPath}.range_match.start`), end: int64(range.end, `${fieldPath}.range_match.end`) } } : {}),
  } satisfies HeaderMatcher;
  const compiled = new CompiledHeaderMatcher(m, fieldPath);
  if (HOP_BY_HOP.has(name)) return ConstantMatcher.of(compiled.matches(NOTHING));
  return new HeaderRule(compiled);
}

class HeaderRule implements RbacMatcher {
  constructor(private readonly matcher: CompiledHeaderMatcher) {}
  matches(ctx: RbacRequestContext): boolean {
    return this.matcher.matches(ctx);
  }
}
