import { ValidationError } from '@meshlet/xds-client';
import type { RbacFilter, RbacPolicy } from '@meshlet/xds-client';
import { compilePermission } from './PermissionMatcher.js';
import { compilePrincipal } from './PrincipalMatcher.js';
import { OrMatcher } from './RbacMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import type { RbacDecision, RbacRequest } from './RbacRequest.js';
import { RbacRequestContext } from './RbacRequestContext.js';
import { nonEmptyList } from './RbacRuleReader.js';

/** What an engine does with a matching policy; 'NONE' = the filter enforces nothing. */
export type RbacEnforcement = 'ALLOW' | 'DENY' | 'NONE';

interface CompiledPolicy {
  readonly permissions: RbacMatcher;
  readonly principals: RbacMatcher;
  /** Decisions are preallocated (and frozen) so evaluate() returns without allocating one. */
  readonly decision: RbacDecision;
}

const ALLOWED: RbacDecision = Object.freeze({ allowed: true });
const DENIED: RbacDecision = Object.freeze({ allowed: false });

/**
 * One envoy.extensions.filters.http.rbac.v3.RBAC filter, compiled once per config push (gRFC A41).
 *
 * - No `rules`: enforces nothing (allow all).
 * - ALLOW: allowed iff some policy matches, so an ALLOW with no policies denies everything.
 * - DENY: denied iff some policy matches.
 * - LOG: gRFC A41 ignores the filter completely, as if absent (allow all).
 * - `shadow_rules` are not enforced and, as Meshlet emits no shadow stats yet, not evaluated.
 * A policy matches when any permission and any principal match. Policies are tried in name order, as
 * Envoy's std::map does, so `matchedPolicy` is deterministic.
 */
export class RbacEngine {
  private constructor(
    readonly enforcement: RbacEnforcement,
    private readonly policies: readonly CompiledPolicy[],
  ) {}

  /** Throws ValidationError (field path under `fieldPath`) for config gRPC must NACK. */
  static compile(filter: RbacFilter, fieldPath = 'rbac'): RbacEngine {
    const rules = filter.rules;
    if (rules === undefined) return new RbacEngine('NONE', []);
    const rulesPath = `${fieldPath}.rules`;
    const action = rules.action ?? 'ALLOW';
    const policies: CompiledPolicy[] = [];
    for (const name of Object.keys(rules.policies ?? {}).sort()) {
      const p = rules.policies[name]!;
      const at = `${rulesPath}.policies["${name}"]`;
      // Compile even for LOG so that a malformed filter is NACKed either way.
      policies.push(compilePolicy(name, p, at, action === 'DENY'));
    }
    if (action === 'LOG') return new RbacEngine('NONE', []);
    if (action !== 'ALLOW' && action !== 'DENY') throw new ValidationError(`${rulesPath}.action`, `unknown action ${String(action)}`);
    return new RbacEngine(action, policies);
  }

  /** Allows everything: what a missing or disabled RBAC filter means. */
  static allowAll(): RbacEngine {
    return new RbacEngine('NONE', []);
  }

  evaluate(req: RbacRequest): RbacDecision {
    if (this.enforcement === 'NONE') return ALLOWED;
    const matched = this.policies.length === 0 ? undefined : this.firstMatch(new RbacRequestContext(req));
    if (this.enforcement === 'ALLOW') return matched ?? DENIED;
    return matched ?? ALLOWED;
  }

  private firstMatch(ctx: RbacRequestContext): RbacDecision | undefined {
    for (const p of this.policies) {
      if (p.permissions.matches(ctx) && p.principals.matches(ctx)) return p.decision;
    }
    return undefined;
  }
}

function compilePolicy(name: string, p: RbacPolicy, at: string, deny: boolean): CompiledPolicy {
  const raw = p as RbacPolicy & { condition?: unknown; checked_condition?: unknown };
  // gRFC A41: CEL conditions are unsupported and must fail validation.
  if (raw.condition !== undefined || raw.checked_condition !== undefined) throw new ValidationError(at, 'RBAC policy conditions (CEL) are not supported (gRFC A41)');
  const permissions = nonEmptyList(p.permissions, `${at}.permissions`).map((r, i) => compilePermission(r, `${at}.permissions[${i}]`));
  const principals = nonEmptyList(p.principals, `${at}.principals`).map((r, i) => compilePrincipal(r, `${at}.principals[${i}]`));
  return {
    permissions: permissions.length === 1 ? permissions[0]! : new OrMatcher(permissions),
    principals: principals.length === 1 ? principals[0]! : new OrMatcher(principals),
    decision: Object.freeze({ allowed: !deny, matchedPolicy: name }),
  };
}
