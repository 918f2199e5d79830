import { describe, expect, it } from 'vitest';
import type { ClusterWeight, HeaderValueOption } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { HeaderMutation, RouteTable } from '../../src/routing/index.js';
import type { HeaderMutationLevel } from '../../src/routing/index.js';
import { hvo, request, route, routeConfig, TestHeaders, vhost } from './builders.js';

function level(p: Partial<HeaderMutationLevel>): HeaderMutationLevel {
  return { request_headers_to_add: [], request_headers_to_remove: [], response_headers_to_add: [], response_headers_to_remove: [], ...p };
}
function single(adds: HeaderValueOption[], removes: string[] = []) {
  return HeaderMutation.compile([{ level: level({ request_headers_to_add: adds, request_headers_to_remove: removes, response_headers_to_add: adds, response_headers_to_remove: removes }), fieldPath: '' }]);
}

describe('HeaderMutation append_action', () => {
  it.each<[HeaderValueOption['append_action'], Record<string, string>, Record<string, string>]>([
    ['APPEND_IF_EXISTS_OR_ADD', { 'x-a': 'old' }, { 'x-a': 'old,new' }],
    ['APPEND_IF_EXISTS_OR_ADD', {}, { 'x-a': 'new' }],
    ['ADD_IF_ABSENT', { 'x-a': 'old' }, { 'x-a': 'old' }],
    ['ADD_IF_ABSENT', {}, { 'x-a': 'new' }],
    ['OVERWRITE_IF_EXISTS_OR_ADD', { 'x-a': 'old' }, { 'x-a': 'new' }],
    ['OVERWRITE_IF_EXISTS_OR_ADD', {}, { 'x-a': 'new' }],
    ['OVERWRITE_IF_EXISTS', { 'x-a': 'old' }, { 'x-a': 'new' }],
    ['OVERWRITE_IF_EXISTS', {}, {}],
  ])('%s on %j -> %j (request and response)', (action, before, after) => {
    const m = single([hvo('x-a', 'new', action)]);
    const req = new TestHeaders(before);
    m.applyToRequest(req);
    expect(req.toObject()).toEqual(after);
    const res = new TestHeaders(before);
    m.applyToResponse(res);
    expect(res.toObject()).toEqual(after);
  });

  it('removes before adding within a level', () => {
    const h = new TestHeaders({ 'x-a': 'old', 'x-b': 'gone' });
    single([hvo('x-a', 'new', 'APPEND_IF_EXISTS_OR_ADD')], ['x-a', 'X-B']).applyToRequest(h);
    expect(h.toObject()).toEqual({ 'x-a': 'new' });
  });

  it('skips empty values unless keep_empty_value', () => {
    const h = new TestHeaders();
    single([hvo('x-empty', ''), hvo('x-kept', '', 'OVERWRITE_IF_EXISTS_OR_ADD', true)]).applyToRequest(h);
    expect(h.toObject()).toEqual({ 'x-kept': '' });
  });

  it('lower-cases configured names', () => {
    const h = new TestHeaders();
    single([hvo('X-Upper', 'v')]).applyToRequest(h);
    expect(h.toObject()).toEqual({ 'x-upper': 'v' });
  });

  it('works with the WHATWG Headers class', () => {
    const h = new Headers({ 'x-a': 'old' });
    single([hvo('x-a', 'new', 'APPEND_IF_EXISTS_OR_ADD'), hvo('x-b', 'b')]).applyToRequest(h);
    expect(h.get('x-a')).toBe('old, new');
    expect(h.get('x-b')).toBe('b');
  });

  it.each<[string, HeaderValueOption[], string[]]>([
    ['CR in value', [hvo('x-a', 'a\rb')], []],
    ['LF in value', [hvo('x-a', 'a\nb')], []],
    ['NUL in value', [hvo('x-a', 'a\0b')], []],
    ['pseudo-header add', [hvo(':authority', 'x')], []],
    ['pseudo-header add :path', [hvo(':path', '/x')], []],
    ['host add', [hvo('Host', 'x')], []],
    ['pseudo-header remove', [], [':method']],
    ['host remove', [], ['host']],
    ['invalid name', [hvo('bad name', 'x')], []],
    ['empty name', [hvo('', 'x')], []],
  ])('rejects %s', (_l, adds, removes) => {
    expect(() => single(adds, removes)).toThrow(ValidationError);
  });
});

describe('header mutation levels on a route', () => {
  const cw = (name: string, extra: Partial<ClusterWeight> = {}): ClusterWeight => ({
    name,
    weight: 1,
    request_headers_to_add: [],
    request_headers_to_remove: [],
    response_headers_to_add: [],
    response_headers_to_remove: [],
    typed_per_filter_config: {},
    ...extra,
  });
  function build(mostSpecificWins?: boolean) {
    const t = RouteTable.compile(
      routeConfig(
        [
          vhost(
            'v',
            ['*'],
            [
              route(
                { prefix: '/' },
                { weighted_clusters: { clusters: [cw('a', { request_headers_to_add: [hvo('x-level', 'cluster')], response_headers_to_add: [hvo('x-only-cluster', '1')] })] } },
                { request_headers_to_add: [hvo('x-level', 'route'), hvo('x-trace', 'route', 'APPEND_IF_EXISTS_OR_ADD')] },
              ),
            ],
            { request_headers_to_add: [hvo('x-level', 'vhost'), hvo('x-trace', 'vhost', 'APPEND_IF_EXISTS_OR_ADD')] },
          ),
        ],
        {
          request_headers_to_add: [hvo('x-level', 'config'), hvo('x-trace', 'config', 'APPEND_IF_EXISTS_OR_ADD')],
          ...(mostSpecificWins !== undefined ? { most_specific_header_mutations_wins: mostSpecificWins } : {}),
        },
      ),
    );
    return t.match(request('/'))!.route;
  }

  it('by default applies route, then virtual host, then route configuration: the outermost level wins overwrites', () => {
    const r = build();
    const h = new TestHeaders();
    r.headerMutation.applyToRequest(h);
    expect(h.toObject()).toEqual({ 'x-level': 'config', 'x-trace': 'route,vhost,config' });
  });

  it('applies the weighted-cluster level first (most specific)', () => {
    const r = build();
    const picked = r.clusterPicker!.pick(0, request('/').headers);
    const h = new TestHeaders();
    r.headerMutationFor(picked).applyToRequest(h);
    expect(h.toObject()).toEqual({ 'x-level': 'config', 'x-trace': 'route,vhost,config' });
    const res = new TestHeaders();
    r.headerMutationFor(picked).applyToResponse(res);
    expect(res.toObject()).toEqual({ 'x-only-cluster': '1' });
    expect(r.headerMutationFor(undefined)).toBe(r.headerMutation);
  });

  it('most_specific_header_mutations_wins reverses the order', () => {
    const r = build(true);
    const h = new TestHeaders();
    r.headerMutationFor(r.clusterPicker!.pick(0, request('/').headers)).applyToRequest(h);
    expect(h.toObject()).toEqual({ 'x-level': 'cluster', 'x-trace': 'config,vhost,route' });
  });

  it('reports the field path of an invalid header at the virtual host level', () => {
    let err: unknown;
    try {
      RouteTable.compile(routeConfig([vhost('v', ['*'], [route({ prefix: '/' })], { request_headers_to_add: [hvo('x-a', 'bad\n')] })]));
    } catch (e) {
      err = e;
    }
    expect((err as ValidationError).fieldPath).toBe('virtual_hosts[0].request_headers_to_add[0].header.value');
  });
});
