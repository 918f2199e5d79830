import { ValidationError } from '@meshlet/xds-client';
import type { StringMatcher } from '@meshlet/xds-client';
import { compileStringMatcher } from '../routing/StringMatcher.js';
import type { CompiledStringMatcher } from '../routing/StringMatcher.js';
import { ConstantMatcher } from './RbacMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import type { RbacRequestContext } from './RbacRequestContext.js';
import { asObject } from './RbacRuleReader.js';

/**
 * Istio's sidecar policies (istiod's default generator) identify the peer with a
 * `filter_state { key: "io.istio.peer_principal" }` principal instead of `authenticated`. Envoy fills
 * that filter state from the peer certificate's URI SAN (the SPIFFE id), so Meshlet evaluates it
 * against the verified peer's URI SANs: the same fact, read from where Meshlet has it.
 */
const PEER_PRINCIPAL_KEY = 'io.istio.peer_principal';

class PeerPrincipalRule implements RbacMatcher {
  constructor(private readonly matcher: CompiledStringMatcher | undefined) {}
  matches(ctx: RbacRequestContext): boolean {
    const p = ctx.req.principal;
    if (p === undefined || p.uriSans.length === 0) return false;
    if (this.matcher === undefined) return true;
    for (const san of p.uriSans) if (this.matcher.matches(san)) return true;
    return false;
  }
}

/**
 * `filter_state` (envoy.type.matcher.v3.FilterStateMatcher). Other keys name Envoy-internal filter
 * state that an in-process mesh never has; an absent key never matches in Envoy, so, like gRFC A41's
 * `metadata`, they never match here (but stay inside not_id).
 */
export function compileFilterStateRule(raw: unknown, fieldPath: string): RbacMatcher {
  const o = asObject(raw, fieldPath);
  const key = o['key'];
  if (typeof key !== 'string' || key === '') throw new ValidationError(`${fieldPath}.key`, 'key is required');
  const sm = o['string_match'];
  const present = o['present_match'];
  if (sm === undefined && present === undefined) {
    throw new ValidationError(fieldPath, 'only string_match and present_match filter state matchers are supported');
  }
  const matcher = sm === undefined ? undefined : compileStringMatcher(asObject(sm, `${fieldPath}.string_match`) as StringMatcher, `${fieldPath}.string_match`);
  if (key !== PEER_PRINCIPAL_KEY) return ConstantMatcher.FALSE;
  return new PeerPrincipalRule(matcher);
}
