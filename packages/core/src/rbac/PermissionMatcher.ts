import { ValidationError } from '@meshlet/xds-client';
import type { RbacPermission, StringMatcher } from '@meshlet/xds-client';
import { compileStringMatcher } from '../routing/StringMatcher.js';
import { compileHeaderRule } from './HeaderRule.js';
import { IpRule } from './IpRule.js';
import { PortRule } from './PortRule.js';
import { AndMatcher, ConstantMatcher, NotMatcher, OrMatcher } from './RbacMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import { asObject, nonEmptyList, onlyRuleKind } from './RbacRuleReader.js';
import { UrlPathRule } from './UrlPathRule.js';

/**
 * Compiles an envoy.config.rbac.v3.Permission (proto shape) once per config push.
 * Kinds gRPC cannot evaluate faithfully (`matcher`, `uri_template` extensions, unknown kinds) are a
 * validation error so the Listener is NACKed rather than enforced wrongly (gRFC A41 / A39).
 */
export function compilePermission(rule: RbacPermission | unknown, fieldPath: string): RbacMatcher {
  const [kind, value] = onlyRuleKind(rule, fieldPath, 'Permission');
  const at = `${fieldPath}.${kind}`;
  switch (kind) {
    case 'and_rules':
    case 'or_rules': {
      const rules = nonEmptyList(asObject(value, at)['rules'], `${at}.rules`).map((r, i) => compilePermission(r, `${at}.rules[${i}]`));
      return kind === 'and_rules' ? new AndMatcher(rules) : new OrMatcher(rules);
    }
    case 'any':
      if (value !== true) throw new ValidationError(at, 'any must be true');
      return ConstantMatcher.TRUE;
    case 'header':
      return compileHeaderRule(value, at);
    case 'url_path':
      return new UrlPathRule(value, at);
    case 'destination_ip':
      return new IpRule(value, at, 'destination');
    case 'destination_port':
      return PortRule.exact(value, at);
    case 'destination_port_range':
      return PortRule.range(value, at);
    case 'metadata':
    case 'sourced_metadata':
      // gRFC A41: Envoy dynamic metadata does not exist in gRPC; a ValueMatcher needs a value, so never matches.
      asObject(value, at);
      return ConstantMatcher.FALSE;
    case 'not_rule':
      return new NotMatcher(compilePermission(value, at));
    case 'requested_server_name':
      // gRFC A41: hard-coded to "" (no SNI is observed by the RBAC filter).
      return ConstantMatcher.of(compileStringMatcher(asObject(value, at) as StringMatcher, at).matches(''));
    default:
      throw new ValidationError(at, `unsupported RBAC permission rule ${JSON.stringify(kind)}`);
  }
}
