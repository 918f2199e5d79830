import type { StringMatcher } from '@meshlet/xds-client';
import { compileStringMatcher } from '../routing/StringMatcher.js';
import type { CompiledStringMatcher } from '../routing/StringMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import type { RbacRequestContext } from './RbacRequestContext.js';
import { asObject } from './RbacRuleReader.js';
import type { PeerPrincipal } from './RbacRequest.js';

/**
 * Matches a peer certificate identity the way gRFC A41 defines `authenticated.principal_name`:
 * any URI SAN; if there is none, any DNS SAN; if there is none, the subject (RFC 2253); with no
 * certificate at all, the empty string.
 */
export function peerIdentityMatches(matcher: CompiledStringMatcher, p: PeerPrincipal): boolean {
  if (p.uriSans.length > 0) {
    for (const san of p.uriSans) if (matcher.matches(san)) return true;
    return false;
  }
  if (p.dnsSans.length > 0) {
    for (const san of p.dnsSans) if (matcher.matches(san)) return true;
    return false;
  }
  return matcher.matches(p.subject ?? '');
}

/** `authenticated`: a TLS peer; with no principal_name any TLS connection matches (A41, no client cert needed). */
export class AuthenticatedRule implements RbacMatcher {
  private readonly matcher: CompiledStringMatcher | undefined;

  constructor(raw: unknown, fieldPath: string) {
    const o = asObject(raw, fieldPath);
    const pn = o['principal_name'];
    this.matcher = pn === undefined || pn === null ? undefined : compileStringMatcher(asObject(pn, `${fieldPath}.principal_name`) as StringMatcher, `${fieldPath}.principal_name`);
  }

  matches(ctx: RbacRequestContext): boolean {
    const p = ctx.req.principal;
    if (p === undefined) return false;
    return this.matcher === undefined || peerIdentityMatches(this.matcher, p);
  }
}
