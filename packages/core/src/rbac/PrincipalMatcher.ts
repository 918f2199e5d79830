import { ValidationError } from '@meshlet/xds-client';
import type { RbacPrincipal } from '@meshlet/xds-client';
import { AuthenticatedRule } from './AuthenticatedRule.js';
import { compileFilterStateRule } from './FilterStateRule.js';
import { compileHeaderRule } from './HeaderRule.js';
import { IpRule } from './IpRule.js';
import { AndMatcher, ConstantMatcher, NotMatcher, OrMatcher } from './RbacMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import { asObject, nonEmptyList, onlyRuleKind } from './RbacRuleReader.js';
import { UrlPathRule } from './UrlPathRule.js';

/** Compiles an envoy.config.rbac.v3.Principal (proto shape) once per config push; see compilePermission. */
export function compilePrincipal(rule: RbacPrincipal | unknown, fieldPath: string): RbacMatcher {
  const [kind, value] = onlyRuleKind(rule, fieldPath, 'Principal');
  const at = `${fieldPath}.${kind}`;
  switch (kind) {
    case 'and_ids':
    case 'or_ids': {
      const ids = nonEmptyList(asObject(value, at)['ids'], `${at}.ids`).map((r, i) => compilePrincipal(r, `${at}.ids[${i}]`));
      return kind === 'and_ids' ? new AndMatcher(ids) : new OrMatcher(ids);
    }
    case 'any':
      if (value !== true) throw new ValidationError(at, 'any must be true');
      return ConstantMatcher.TRUE;
    case 'authenticated':
      return new AuthenticatedRule(value, at);
    case 'source_ip':
    case 'direct_remote_ip':
    case 'remote_ip':
      // gRFC A41: all three are the peer address (no PROXY protocol, no xff_num_trusted_hops).
      return new IpRule(value, at, 'source');
    case 'header':
      return compileHeaderRule(value, at);
    case 'url_path':
      return new UrlPathRule(value, at);
    case 'metadata':
    case 'sourced_metadata':
      asObject(value, at);
      return ConstantMatcher.FALSE; // gRFC A41: never matches.
    case 'filter_state':
      return compileFilterStateRule(value, at);
    case 'not_id':
      return new NotMatcher(compilePrincipal(value, at));
    default:
      throw new ValidationError(at, `unsupported RBAC principal rule ${JSON.stringify(kind)}`);
  }
}
