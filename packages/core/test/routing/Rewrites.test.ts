import { describe, expect, it } from 'vitest';
import type { RedirectAction, RouteAction, RouteMatch } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { RouteTable } from '../../src/routing/index.js';
import { request, route, routeConfig, vhost } from './builders.js';

function compiled(match: Partial<RouteMatch>, action: Partial<RouteAction>) {
  const t = RouteTable.compile(routeConfig([vhost('v', ['*'], [route(match, { cluster: 'c', ...action })])]));
  return t.virtualHosts[0]!.routes[0]!;
}

describe('rewritePath', () => {
  it.each<[string, Partial<RouteMatch>, Partial<RouteAction>, string, string]>([
    ['prefix_rewrite on prefix', { prefix: '/api/' }, { prefix_rewrite: '/v2/' }, '/api/users?x=1', '/v2/users?x=1'],
    ['prefix_rewrite to /', { prefix: '/api/' }, { prefix_rewrite: '/' }, '/api/users', '/users'],
    ['prefix_rewrite to empty becomes /', { prefix: '/api' }, { prefix_rewrite: '' }, '/api', '/'],
    ['prefix_rewrite without leading / is rooted', { prefix: '/api' }, { prefix_rewrite: 'x' }, '/api/y', '/x/y'],
    ['prefix_rewrite case-insensitive match', { prefix: '/API', case_sensitive: false }, { prefix_rewrite: '/v2' }, '/api/x', '/v2/x'],
    ['prefix_rewrite on path replaces whole path', { path: '/old' }, { prefix_rewrite: '/new' }, '/old?q', '/new?q'],
    ['prefix_rewrite on path_separated_prefix', { path_separated_prefix: '/a' }, { prefix_rewrite: '/b' }, '/a/c', '/b/c'],
    ['prefix_rewrite on regex replaces whole path', { safe_regex: { regex: '/x.*' } }, { prefix_rewrite: '/y' }, '/xyz?k=v', '/y?k=v'],
    ['regex_rewrite with groups', { prefix: '/' }, { regex_rewrite: { pattern: { regex: '^/service/([^/]+)(/.*)$' }, substitution: '\\2/instance/\\1' } }, '/service/foo/v1/api?x', '/v1/api/instance/foo?x'],
    ['regex_rewrite replaces all matches', { prefix: '/' }, { regex_rewrite: { pattern: { regex: 'one' }, substitution: 'two' } }, '/xxx/one/yyy/one/zzz', '/xxx/two/yyy/two/zzz'],
    ['regex_rewrite does not touch the query', { prefix: '/' }, { regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' } }, '/a?a=a', '/b?a=a'],
    ['regex_rewrite \\0 is the whole match', { prefix: '/' }, { regex_rewrite: { pattern: { regex: 'v[0-9]' }, substitution: '[\\0]' } }, '/v1/x', '/[v1]/x'],
    ['regex_rewrite \\\\ is a backslash', { prefix: '/' }, { regex_rewrite: { pattern: { regex: 'x' }, substitution: '\\\\' } }, '/x', '/\\'],
    ['regex_rewrite with empty matches terminates', { prefix: '/' }, { regex_rewrite: { pattern: { regex: 'z*' }, substitution: '-' } }, '/ab', '/-/-a-b-'],
    ['regex_rewrite to empty becomes /', { prefix: '/' }, { regex_rewrite: { pattern: { regex: '.*' }, substitution: '' } }, '/abc', '/'],
    ['regex_rewrite unmatched group is empty', { prefix: '/' }, { regex_rewrite: { pattern: { regex: '/(a)|/(b)' }, substitution: '/\\2' } }, '/a', '/'],
    ['no rewrite keeps the path', { prefix: '/' }, {}, '/same?x', '/same?x'],
  ])('%s', (_l, match, action, input, expected) => {
    expect(compiled(match, action).rewritePath(input)).toBe(expected);
  });

  it('returns the very same string when there is no rewrite', () => {
    const p = '/unchanged?x=1';
    expect(compiled({ prefix: '/' }, {}).rewritePath(p)).toBe(p);
  });

  it.each<[string, Partial<RouteAction>]>([
    ['prefix_rewrite with CR', { prefix_rewrite: '/a\r\nb' }],
    ['prefix_rewrite with ?', { prefix_rewrite: '/a?b' }],
    ['substitution with NUL', { regex_rewrite: { pattern: { regex: 'a' }, substitution: '\0' } }],
    ['substitution with bad escape', { regex_rewrite: { pattern: { regex: 'a' }, substitution: '\\q' } }],
    ['invalid rewrite regex', { regex_rewrite: { pattern: { regex: '(' }, substitution: 'x' } }],
    ['both rewrites', { prefix_rewrite: '/a', regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' } }],
  ])('rejects %s', (_l, action) => {
    expect(() => compiled({ prefix: '/' }, action)).toThrow(ValidationError);
  });
});

describe('rewriteHost', () => {
  const h = (o: Record<string, string> = {}) => request('/', { headers: o }).headers;
  it('host_rewrite_literal', () => {
    expect(compiled({ prefix: '/' }, { host_rewrite_literal: 'upstream.local' }).rewriteHost(h())).toBe('upstream.local');
  });
  it('host_rewrite_header uses the header when present', () => {
    const r = compiled({ prefix: '/' }, { host_rewrite_header: 'X-Host' });
    expect(r.rewriteHost(h({ 'x-host': 'h.example' }))).toBe('h.example');
    expect(r.rewriteHost(h())).toBeUndefined();
    expect(r.rewriteHost(h({ 'x-host': 'bad host' }))).toBeUndefined();
  });
  it('auto_host_rewrite uses the upstream hostname when known', () => {
    const r = compiled({ prefix: '/' }, { auto_host_rewrite: true });
    expect(r.rewriteHost(h(), undefined, 'ep-1.svc')).toBe('ep-1.svc');
    expect(r.rewriteHost(h())).toBeUndefined();
  });
  it('no host rewrite keeps the authority', () => {
    expect(compiled({ prefix: '/' }, {}).rewriteHost(h())).toBeUndefined();
  });
  it('weighted cluster host_rewrite_literal overrides the route literal', () => {
    const t = RouteTable.compile(
      routeConfig([
        vhost('v', ['*'], [
          route({ prefix: '/' }, {
            host_rewrite_literal: 'route.host',
            weighted_clusters: {
              clusters: [
                { name: 'a', weight: 1, host_rewrite_literal: 'a.host', request_headers_to_add: [], request_headers_to_remove: [], response_headers_to_add: [], response_headers_to_remove: [], typed_per_filter_config: {} },
              ],
            },
          }),
        ]),
      ]),
    );
    const r = t.virtualHosts[0]!.routes[0]!;
    const picked = r.clusterPicker!.pick(0.5, h());
    expect(r.rewriteHost(h(), picked)).toBe('a.host');
    expect(r.rewriteHost(h())).toBe('route.host');
  });
  it('rejects an invalid host literal', () => {
    expect(() => compiled({ prefix: '/' }, { host_rewrite_literal: 'a/b' })).toThrow(ValidationError);
  });
});

describe('redirectLocation', () => {
  function redirect(match: Partial<RouteMatch>, r: Partial<RedirectAction>) {
    const t = RouteTable.compile(routeConfig([vhost('v', ['*'], [route(match, { redirect: { response_code: 'MOVED_PERMANENTLY', ...r } })])]));
    return t.virtualHosts[0]!.routes[0]!;
  }
  it.each<[string, Partial<RouteMatch>, Partial<RedirectAction>, string, string, { scheme?: string }, number, string]>([
    ['https_redirect', { prefix: '/' }, { https_redirect: true }, 'example.com', '/a?b=1', {}, 301, 'https://example.com/a?b=1'],
    ['https_redirect drops the old default port', { prefix: '/' }, { https_redirect: true }, 'example.com:80', '/a', {}, 301, 'https://example.com/a'],
    ['https_redirect keeps a non-default port', { prefix: '/' }, { https_redirect: true }, 'example.com:8080', '/a', {}, 301, 'https://example.com:8080/a'],
    ['scheme_redirect', { prefix: '/' }, { scheme_redirect: 'HTTPS', response_code: 'FOUND' }, 'h', '/', {}, 302, 'https://h/'],
    ['host_redirect keeps path and query', { prefix: '/' }, { host_redirect: 'new.host', response_code: 'SEE_OTHER' }, 'old:8080', '/p?q', {}, 303, 'http://new.host:8080/p?q'],
    ['port_redirect', { prefix: '/' }, { port_redirect: 8443, response_code: 'TEMPORARY_REDIRECT' }, 'h:80', '/', { scheme: 'https' }, 307, 'https://h:8443/'],
    ['path_redirect keeps query', { prefix: '/' }, { path_redirect: '/new', response_code: 'PERMANENT_REDIRECT' }, 'h', '/old?x=1', {}, 308, 'http://h/new?x=1'],
    ['path_redirect with its own query', { prefix: '/' }, { path_redirect: '/new?y=2' }, 'h', '/old?x=1', {}, 301, 'http://h/new?y=2'],
    ['strip_query', { prefix: '/' }, { path_redirect: '/new', strip_query: true }, 'h', '/old?x=1', {}, 301, 'http://h/new'],
    ['prefix_rewrite', { prefix: '/old/' }, { prefix_rewrite: '/new/' }, 'h', '/old/a?x', {}, 301, 'http://h/new/a?x'],
    ['regex_rewrite', { prefix: '/' }, { regex_rewrite: { pattern: { regex: '^/(\\w+)$' }, substitution: '/x/\\1' } }, 'h', '/abc', {}, 301, 'http://h/x/abc'],
  ])('%s', (_l, match, r, authority, path, opts, status, location) => {
    const compiledRoute = redirect(match, r);
    expect(compiledRoute.action).toBe('redirect');
    const req = request(path, { authority, headers: opts.scheme ? { ':scheme': opts.scheme } : {} });
    expect(compiledRoute.redirectLocation(req)).toEqual({ status, location });
  });

  it('rejects conflicting redirect fields', () => {
    expect(() => redirect({ prefix: '/' }, { https_redirect: true, scheme_redirect: 'http' })).toThrow(ValidationError);
    expect(() => redirect({ prefix: '/' }, { path_redirect: '/a', prefix_rewrite: '/b' })).toThrow(ValidationError);
    expect(() => redirect({ prefix: '/' }, { host_redirect: 'a\nb' })).toThrow(ValidationError);
  });

  it('is undefined for non-redirect routes', () => {
    expect(compiled({ prefix: '/' }, {}).redirectLocation(request('/'))).toBeUndefined();
  });
});
