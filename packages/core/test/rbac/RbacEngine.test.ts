import { describe, expect, it } from 'vitest';
import type { RbacFilter, RbacPermission, RbacPrincipal } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { RbacChain, RbacEngine } from '../../src/rbac/index.js';
import type { RbacRequest } from '../../src/rbac/index.js';
import { grpcRequest } from './requests.js';

const ANY = { any: true };
function allow(permissions: RbacPermission[], principals: RbacPrincipal[] = [ANY], name = 'p'): RbacFilter {
  return { rules: { action: 'ALLOW', policies: { [name]: { permissions, principals } } } };
}
function allowPrincipals(principals: RbacPrincipal[]): RbacFilter {
  return allow([ANY], principals);
}
const spiffe = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

describe('RbacEngine actions', () => {
  const matching = { permissions: [ANY], principals: [ANY] };
  const notMatching = { permissions: [{ url_path: { path: { exact: '/other.Svc/M' } } }], principals: [ANY] };
  it.each<[string, RbacFilter, boolean, string | undefined]>([
    ['no rules allows all', {}, true, undefined],
    ['ALLOW with no policies denies all', { rules: { action: 'ALLOW', policies: {} } }, false, undefined],
    ['ALLOW matching policy allows', { rules: { action: 'ALLOW', policies: { a: matching } } }, true, 'a'],
    ['ALLOW non-matching policy denies', { rules: { action: 'ALLOW', policies: { a: notMatching } } }, false, undefined],
    ['DENY with no policies allows', { rules: { action: 'DENY', policies: {} } }, true, undefined],
    ['DENY matching policy denies', { rules: { action: 'DENY', policies: { d: matching } } }, false, 'd'],
    ['DENY non-matching policy allows', { rules: { action: 'DENY', policies: { d: notMatching } } }, true, undefined],
    ['LOG is ignored (A41)', { rules: { action: 'LOG', policies: { l: notMatching } } }, true, undefined],
    ['shadow rules are not enforced', { shadow_rules: { action: 'DENY', policies: { s: matching } } }, true, undefined],
    ['first policy in name order is reported', { rules: { action: 'ALLOW', policies: { zeta: matching, alpha: matching } } }, true, 'alpha'],
  ])('%s', (_name, filter, allowed, matchedPolicy) => {
    expect(RbacEngine.compile(filter).evaluate(grpcRequest())).toEqual(matchedPolicy ? { allowed, matchedPolicy } : { allowed });
  });

  it('policy needs a matching permission AND a matching principal', () => {
    const e = RbacEngine.compile(allow([ANY], [{ authenticated: { principal_name: { exact: spiffe('default', 'other') } } }]));
    expect(e.evaluate(grpcRequest()).allowed).toBe(false);
    expect(e.evaluate(grpcRequest({ principal: { uriSans: [spiffe('default', 'other')], dnsSans: [] } })).allowed).toBe(true);
  });
});

describe('Permission rules', () => {
  const req = grpcRequest({ headerValues: { 'x-user': 'alice', 'x-num': '42', te: 'trailers', 'x-multi': 'a,b' } });
  it.each<[string, RbacPermission, boolean]>([
    ['any', ANY, true],
    ['url_path exact', { url_path: { path: { exact: '/pkg.Greeter/SayHello' } } }, true],
    ['url_path prefix service', { url_path: { path: { prefix: '/pkg.Greeter/' } } }, true],
    ['url_path other method', { url_path: { path: { exact: '/pkg.Greeter/Other' } } }, false],
    ['url_path regex', { url_path: { path: { safe_regex: { regex: '/pkg\\.[A-Z]\\w+/Say.*' } } } }, true],
    ['url_path ignore_case', { url_path: { path: { exact: '/PKG.greeter/sayhello', ignore_case: true } } }, true],
    ['header exact', { header: { name: 'x-user', exact_match: 'alice' } }, true],
    ['header exact mismatch', { header: { name: 'x-user', exact_match: 'bob' } }, false],
    ['header invert', { header: { name: 'x-user', exact_match: 'bob', invert_match: true } }, true],
    ['header absent does not match even inverted', { header: { name: 'x-none', exact_match: 'x', invert_match: true } }, false],
    ['header present_match', { header: { name: 'x-user', present_match: true } }, true],
    ['header present_match false on absent', { header: { name: 'x-none', present_match: false } }, true],
    ['header range (int64 as string)', { header: { name: 'x-num', range_match: { start: '40', end: '50' } } }, true],
    ['header range excludes end', { header: { name: 'x-num', range_match: { start: '0', end: '42' } } }, false],
    ['header string_match prefix', { header: { name: 'x-user', string_match: { prefix: 'ali' } } }, true],
    ['multi-valued header is joined with ","', { header: { name: 'x-multi', exact_match: 'a,b' } }, true],
    [':method pseudo-header', { header: { name: ':method', exact_match: 'POST' } }, true],
    [':path pseudo-header', { header: { name: ':path', prefix_match: '/pkg.' } }, true],
    [':authority pseudo-header', { header: { name: ':authority', suffix_match: ':50051' } }, true],
    ['host aliases :authority (A41)', { header: { name: 'host', prefix_match: 'greeter.default' } }, true],
    ['content-type from the client', { header: { name: 'content-type', exact_match: 'application/grpc' } }, true],
    ['te is hop-by-hop: never present (A41)', { header: { name: 'te', present_match: true } }, false],
    ['te inverted present stays constant', { header: { name: 'te', exact_match: 'trailers', invert_match: true } }, false],
    ['destination_port', { destination_port: 50051 }, true],
    ['destination_port other', { destination_port: 8080 }, false],
    ['destination_port_range', { destination_port_range: { start: 50000, end: 50052 } }, true],
    ['destination_port_range end exclusive', { destination_port_range: { start: 50000, end: 50051 } }, false],
    ['destination_ip v4', { destination_ip: { address_prefix: '10.9.0.0', prefix_len: 16 } }, true],
    ['destination_ip UInt32Value form', { destination_ip: { address_prefix: '10.9.0.0', prefix_len: { value: 16 } } }, true],
    ['destination_ip other', { destination_ip: { address_prefix: '10.8.0.0', prefix_len: 16 } }, false],
    ['destination_ip v6 range vs v4 address', { destination_ip: { address_prefix: '::', prefix_len: 0 } }, false],
    ['metadata never matches (A41)', { metadata: { filter: 'istio_authn', path: [{ key: 'x' }], value: { present_match: true } } }, false],
    ['not metadata matches', { not_rule: { metadata: { filter: 'f', path: [{ key: 'x' }], value: { present_match: true } } } }, true],
    ['requested_server_name matches only "" (A41)', { requested_server_name: { exact: '' } }, true],
    ['requested_server_name other', { requested_server_name: { exact: 'svc.example.com' } }, false],
    ['and_rules all', { and_rules: { rules: [ANY, { destination_port: 50051 }] } }, true],
    ['and_rules one fails', { and_rules: { rules: [ANY, { destination_port: 1 }] } }, false],
    ['or_rules one matches', { or_rules: { rules: [{ destination_port: 1 }, { destination_port: 50051 }] } }, true],
    ['not_rule', { not_rule: { destination_port: 50051 } }, false],
    [
      'nested and(or(GET,POST), not(path /admin))',
      {
        and_rules: {
          rules: [
            { or_rules: { rules: [{ header: { name: ':method', exact_match: 'GET' } }, { header: { name: ':method', exact_match: 'POST' } }] } },
            { not_rule: { url_path: { path: { prefix: '/admin' } } } },
          ],
        },
      },
      true,
    ],
  ])('%s -> %s', (_name, permission, expected) => {
    expect(RbacEngine.compile(allow([permission])).evaluate(req).allowed).toBe(expected);
    // The same rule in a DENY filter decides the opposite.
    expect(RbacEngine.compile({ rules: { action: 'DENY', policies: { p: { permissions: [permission], principals: [ANY] } } } }).evaluate(req).allowed).toBe(!expected);
  });

  it('url_path ignores the query string, :path header does not', () => {
    const r = grpcRequest({ path: '/pkg.Greeter/SayHello?x=1' });
    expect(RbacEngine.compile(allow([{ url_path: { path: { exact: '/pkg.Greeter/SayHello' } } }])).evaluate(r).allowed).toBe(true);
    expect(RbacEngine.compile(allow([{ header: { name: ':path', exact_match: '/pkg.Greeter/SayHello' } }])).evaluate(r).allowed).toBe(false);
  });

  it('authority falls back to the :authority then host header', () => {
    const e = RbacEngine.compile(allow([{ header: { name: ':authority', exact_match: 'h:1' } }]));
    expect(e.evaluate(grpcRequest({ authority: undefined, headerValues: { host: 'h:1' } })).allowed).toBe(true);
    expect(e.evaluate(grpcRequest({ authority: undefined, headerValues: { ':authority': 'h:1', host: 'x' } })).allowed).toBe(true);
  });
});

describe('Principal rules', () => {
  const tls = (uriSans: string[], dnsSans: string[] = [], subject?: string): Partial<RbacRequest> => ({ principal: { uriSans, dnsSans, ...(subject ? { subject } : {}) } });
  it.each<[string, RbacPrincipal, Partial<RbacRequest>, boolean]>([
    ['authenticated exact SPIFFE id', { authenticated: { principal_name: { exact: spiffe('default', 'sleep') } } }, {}, true],
    ['authenticated other SA', { authenticated: { principal_name: { exact: spiffe('default', 'web') } } }, {}, false],
    ['authenticated namespace by regex', { authenticated: { principal_name: { safe_regex: { regex: 'spiffe://cluster\\.local/ns/default/.*' } } } }, {}, true],
    ['authenticated namespace by prefix', { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/test/' } } }, {}, false],
    ['authenticated any URI SAN matches', { authenticated: { principal_name: { exact: 'spiffe://b' } } }, tls(['spiffe://a', 'spiffe://b']), true],
    ['authenticated without principal_name: any TLS peer', { authenticated: {} }, tls([]), true],
    ['authenticated: plaintext never matches', { authenticated: {} }, { principal: undefined }, false],
    ['authenticated: DNS SAN used when no URI SAN', { authenticated: { principal_name: { exact: 'svc.example.com' } } }, tls([], ['svc.example.com']), true],
    ['authenticated: DNS SAN ignored when a URI SAN exists', { authenticated: { principal_name: { exact: 'svc.example.com' } } }, tls(['spiffe://a'], ['svc.example.com']), false],
    ['authenticated: subject when no SAN', { authenticated: { principal_name: { exact: 'CN=client,O=acme' } } }, tls([], [], 'CN=client,O=acme'), true],
    ['authenticated: subject ignored when a SAN exists', { authenticated: { principal_name: { exact: 'CN=client' } } }, tls([], ['d'], 'CN=client'), false],
    ['authenticated: no cert matches "" (A41)', { authenticated: { principal_name: { exact: '' } } }, tls([]), true],
    ['source_ip v4', { source_ip: { address_prefix: '10.1.0.0', prefix_len: 16 } }, {}, true],
    ['direct_remote_ip v4 /32', { direct_remote_ip: { address_prefix: '10.1.2.3', prefix_len: 32 } }, {}, true],
    ['remote_ip other', { remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }, {}, false],
    ['remote_ip v4 range matches IPv4-mapped peer', { remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }, { sourceIp: '::ffff:10.1.2.3' }, true],
    ['remote_ip v6', { remote_ip: { address_prefix: '2001:db8::', prefix_len: 32 } }, { sourceIp: '2001:db8:1::5' }, true],
    ['remote_ip v6 mismatch', { remote_ip: { address_prefix: '2001:db8::', prefix_len: 32 } }, { sourceIp: '2001:db9::5' }, false],
    ['remote_ip v6 /0 does not match v4 peer', { remote_ip: { address_prefix: '::', prefix_len: 0 } }, {}, false],
    ['remote_ip on unparseable peer address', { remote_ip: { address_prefix: '0.0.0.0', prefix_len: 0 } }, { sourceIp: '/tmp/sock' }, false],
    ['header in principal', { header: { name: 'x-user', exact_match: 'alice' } }, { headerValues: { 'x-user': 'alice' } } as Partial<RbacRequest>, true],
    ['url_path in principal', { url_path: { path: { prefix: '/pkg.' } } }, {}, true],
    ['not_id', { not_id: { authenticated: { principal_name: { exact: spiffe('default', 'sleep') } } } }, {}, false],
    ['or_ids', { or_ids: { ids: [{ remote_ip: { address_prefix: '1.1.1.1', prefix_len: 32 } }, { authenticated: {} }] } }, {}, true],
    ['and_ids', { and_ids: { ids: [{ remote_ip: { address_prefix: '1.1.1.1', prefix_len: 32 } }, { authenticated: {} }] } }, {}, false],
    ['filter_state io.istio.peer_principal', { filter_state: { key: 'io.istio.peer_principal', string_match: { exact: spiffe('default', 'sleep') } } }, {}, true],
    ['filter_state peer_principal plaintext', { filter_state: { key: 'io.istio.peer_principal', string_match: { prefix: '' } } }, { principal: undefined }, false],
    ['filter_state other key never matches', { filter_state: { key: 'envoy.some.key', string_match: { prefix: '' } } }, {}, false],
    ['metadata never matches', { metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.principal' }], value: { present_match: true } } }, {}, false],
  ])('%s -> %s', (_name, principal, over, expected) => {
    const { headerValues, ...rest } = over as Partial<RbacRequest> & { headerValues?: Record<string, string> };
    const req = grpcRequest({ ...rest, ...(headerValues ? { headerValues } : {}) });
    expect(RbacEngine.compile(allowPrincipals([principal])).evaluate(req).allowed).toBe(expected);
  });
});

describe('validation (config that must be NACKed)', () => {
  it.each<[string, RbacFilter, string]>([
    ['grpc- header (A41)', allow([{ header: { name: 'grpc-timeout', present_match: true } }]), 'rbac.rules.policies["p"].permissions[0].header.name'],
    [':scheme header (A41)', allowPrincipals([{ header: { name: ':scheme', exact_match: 'https' } }]), 'rbac.rules.policies["p"].principals[0].header.name'],
    ['CEL condition (A41)', { rules: { action: 'ALLOW', policies: { p: { permissions: [ANY], principals: [ANY], condition: { x: 1 } } as never } } }, 'rbac.rules.policies["p"]'],
    ['two kinds in one rule', allow([{ any: true, destination_port: 1 }]), 'rbac.rules.policies["p"].permissions[0]'],
    ['empty rule', allow([{}]), 'rbac.rules.policies["p"].permissions[0]'],
    ['unknown permission kind', allow([{ matcher: { name: 'x' } }]), 'rbac.rules.policies["p"].permissions[0].matcher'],
    ['custom principal', allowPrincipals([{ custom: { name: 'x' } }]), 'rbac.rules.policies["p"].principals[0].custom'],
    ['empty and_rules', allow([{ and_rules: { rules: [] } }]), 'rbac.rules.policies["p"].permissions[0].and_rules.rules'],
    ['empty permissions', { rules: { action: 'ALLOW', policies: { p: { permissions: [], principals: [ANY] } } } }, 'rbac.rules.policies["p"].permissions'],
    ['bad regex', allow([{ url_path: { path: { safe_regex: { regex: '(' } } } }]), 'rbac.rules.policies["p"].permissions[0].url_path.path.safe_regex.regex'],
    ['bad CIDR', allowPrincipals([{ remote_ip: { address_prefix: '10.0.0.300', prefix_len: 8 } }]), 'rbac.rules.policies["p"].principals[0].remote_ip.address_prefix'],
    ['prefix_len too long', allowPrincipals([{ remote_ip: { address_prefix: '10.0.0.0', prefix_len: 33 } }]), 'rbac.rules.policies["p"].principals[0].remote_ip.prefix_len'],
    ['nested error path', allowPrincipals([{ not_id: { or_ids: { ids: [ANY, { header: { name: 'grpc-x' } }] } } }]), 'rbac.rules.policies["p"].principals[0].not_id.or_ids.ids[1].header.name'],
  ])('%s', (_name, filter, fieldPath) => {
    let err: unknown;
    try {
      RbacEngine.compile(filter);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldPath).toBe(fieldPath);
  });

  it('a LOG filter is still validated', () => {
    expect(() => RbacEngine.compile({ rules: { action: 'LOG', policies: { p: { permissions: [{ header: { name: 'grpc-x' } }], principals: [ANY] } } } })).toThrow(ValidationError);
  });
});

describe('RbacChain (Istio: DENY filter then ALLOW filter)', () => {
  const deny: RbacFilter = { rules: { action: 'DENY', policies: { 'ns[default]-policy[deny-web]-rule[0]': { permissions: [ANY], principals: [{ authenticated: { principal_name: { exact: spiffe('default', 'web') } } }] } } } };
  const allowNs: RbacFilter = { rules: { action: 'ALLOW', policies: { 'ns[default]-policy[allow-ns]-rule[0]': { permissions: [ANY], principals: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/default/' } } }] } } } };
  const chain = RbacChain.compile([deny, allowNs]);
  it.each<[string, string[], boolean, string | undefined]>([
    ['allowed namespace', [spiffe('default', 'sleep')], true, 'ns[default]-policy[allow-ns]-rule[0]'],
    ['denied by the DENY filter first', [spiffe('default', 'web')], false, 'ns[default]-policy[deny-web]-rule[0]'],
    ['other namespace: ALLOW filter denies', [spiffe('prod', 'sleep')], false, undefined],
  ])('%s', (_n, uriSans, allowed, matchedPolicy) => {
    expect(chain.evaluate(grpcRequest({ principal: { uriSans, dnsSans: [] } }))).toEqual(matchedPolicy ? { allowed, matchedPolicy } : { allowed });
  });

  it('an empty chain allows', () => {
    expect(new RbacChain([]).evaluate(grpcRequest())).toEqual({ allowed: true });
  });

  it('fromHttpFilters keeps RBAC filters in order and skips others', () => {
    const c = RbacChain.fromHttpFilters([
      { name: 'envoy.filters.http.rbac', is_optional: false, config: { kind: 'rbac', rbac: deny } },
      { name: 'envoy.filters.http.fault', is_optional: false, config: { kind: 'fault', fault: { headers: [] } } },
      { name: 'envoy.filters.http.rbac', is_optional: false, config: { kind: 'rbac', rbac: allowNs } },
      { name: 'envoy.filters.http.router', is_optional: false, config: { kind: 'router' } },
    ]);
    expect(c.engines.map((e) => e.enforcement)).toEqual(['DENY', 'ALLOW']);
  });

  it('evaluate returns shared decision objects (no per-request allocation of results)', () => {
    const e = RbacEngine.compile(allowNs);
    const r = grpcRequest();
    expect(e.evaluate(r)).toBe(e.evaluate(r));
    expect(Object.isFrozen(e.evaluate(r))).toBe(true);
  });
});
