import { describe, expect, it } from 'vitest';
import type { FilterChain, RbacFilter, RbacPrincipal } from '@meshlet/xds-client';
import { RbacChain, RbacEngine } from '../../src/rbac/index.js';
import { grpcRequest } from './requests.js';
import { istioListener } from './istioFixture.js';

/**
 * The HTTP RBAC filters istiod generated for AuthorizationPolicy `httpbin` (ALLOW: GET /info* or
 * POST /data, from principal default/sleep or namespace test, with a JWT issuer requirement) and
 * a CUSTOM ext-authz policy (shadow DENY), as found in the virtualInbound listener's HTTP chains.
 */
const listener = istioListener('virtualInbound');
const hcmChain = listener.filter_chains.find((fc: FilterChain) => fc.http_connection_manager?.http_filters.some((f) => f.config.kind === 'rbac'))!;
const rbacFilters = hcmChain.http_connection_manager!.http_filters.filter((f) => f.config.kind === 'rbac');
const [allowFilter, shadowFilter] = rbacFilters.map((f) => (f.config as { rbac: RbacFilter }).rbac) as [RbacFilter, RbacFilter];

const sleep = { uriSans: ['spiffe://cluster.local/ns/default/sa/sleep'], dnsSans: [] };
const testNs = { uriSans: ['spiffe://cluster.local/ns/test/sa/client'], dnsSans: [] };
const other = { uriSans: ['spiffe://cluster.local/ns/prod/sa/sleep'], dnsSans: [] };

/** The same policy without its JWT (`request.auth.claims[iss]`) requirement, which is Envoy metadata. */
function withoutJwt(f: RbacFilter): RbacFilter {
  const strip = (p: RbacPrincipal): RbacPrincipal => {
    const and = (p as { and_ids?: { ids: RbacPrincipal[] } }).and_ids;
    if (!and) return p;
    return { and_ids: { ids: and.ids.filter((id) => !JSON.stringify(id).includes('"metadata"')) } };
  };
  const policies = Object.fromEntries(Object.entries(f.rules!.policies).map(([n, p]) => [n, { ...p, principals: p.principals.map(strip) }]));
  return { rules: { ...f.rules!, policies } };
}

describe('Istio AuthorizationPolicy (real istiod output)', () => {
  it('has the ALLOW filter then the shadow-only ext-authz filter', () => {
    expect(rbacFilters).toHaveLength(2);
    expect(allowFilter.rules?.action).toBe('ALLOW');
    expect(shadowFilter.rules).toBeUndefined();
    expect(shadowFilter.shadow_rules?.action).toBe('DENY');
  });

  it('as generated, the JWT requirement (Envoy metadata) never matches in-process, so ALLOW denies all (A41)', () => {
    const e = RbacEngine.compile(allowFilter);
    expect(e.evaluate(grpcRequest({ method: 'GET', path: '/info', principal: sleep })).allowed).toBe(false);
    expect(e.evaluate(grpcRequest({ method: 'POST', path: '/data', principal: testNs })).allowed).toBe(false);
  });

  it('the shadow ext-authz filter enforces nothing', () => {
    expect(RbacEngine.compile(shadowFilter).evaluate(grpcRequest({ principal: undefined }))).toEqual({ allowed: true });
  });

  describe('without the JWT requirement', () => {
    const chain = RbacChain.compile([withoutJwt(allowFilter), shadowFilter]);
    const policy = 'ns[default]-policy[httpbin]-rule[0]';
    it.each<[string, string, string, typeof sleep | undefined, boolean]>([
      ['sleep GET /info', 'GET', '/info', sleep, true],
      ['sleep GET /info/sub (prefix)', 'GET', '/info/sub', sleep, true],
      ['sleep GET /info?x=1 (query ignored)', 'GET', '/info?x=1', sleep, true],
      ['sleep POST /data', 'POST', '/data', sleep, true],
      ['test namespace (regex) GET /info', 'GET', '/info', testNs, true],
      ['sleep POST /info (method not allowed for path)', 'POST', '/info', sleep, false],
      ['sleep GET /data', 'GET', '/data', sleep, false],
      ['sleep POST /data/x (exact path)', 'POST', '/data/x', sleep, false],
      ['other namespace GET /info', 'GET', '/info', other, false],
      ['plaintext GET /info', 'GET', '/info', undefined, false],
    ])('%s', (_n, method, path, principal, allowed) => {
      expect(chain.evaluate(grpcRequest({ method, path, principal }))).toEqual(allowed ? { allowed, matchedPolicy: policy } : { allowed });
    });
  });

  it('the TCP-level network RBAC istiod emits for HTTP-only policies (`rules: {}`) denies everything', () => {
    // envoy.filters.network.rbac with an empty rules message: ALLOW action, no policies.
    expect(RbacEngine.compile({ rules: { action: 'ALLOW', policies: {} } }).evaluate(grpcRequest()).allowed).toBe(false);
  });
});
