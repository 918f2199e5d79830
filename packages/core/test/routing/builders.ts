import type { HeaderValueOption, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost } from '@meshlet/xds-client';
import type { HeaderLookup, RequestView } from '../../src/routing/index.js';

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

const noMutations = {
  request_headers_to_add: [],
  request_headers_to_remove: [],
  response_headers_to_add: [],
  response_headers_to_remove: [],
} as const;

export function routeMatch(m: Mutable<RouteMatch> = {}): RouteMatch {
  return { case_sensitive: true, headers: [], query_parameters: [], ...m } as RouteMatch;
}

export function route(match: Mutable<RouteMatch>, action: Partial<RouteAction> | Partial<Route> = { cluster: 'default' }, extra: Partial<Route> = {}): Route {
  const isAction = !('redirect' in action || 'direct_response' in action || 'non_forwarding_action' in action || 'route' in action);
  return {
    ...noMutations,
    typed_per_filter_config: {},
    match: routeMatch(match),
    ...(isAction ? { route: { hash_policy: [], ...(action as Partial<RouteAction>) } as RouteAction } : (action as Partial<Route>)),
    ...extra,
  } as Route;
}

export function vhost(name: string, domains: string[], routes: Route[], extra: Partial<VirtualHost> = {}): VirtualHost {
  return { ...noMutations, name, domains, routes, typed_per_filter_config: {}, ...extra };
}

export function routeConfig(virtual_hosts: VirtualHost[], extra: Partial<RouteConfiguration> = {}): RouteConfiguration {
  return { ...noMutations, name: 'test-routes', virtual_hosts, ...extra };
}

export function hvo(key: string, value: string, append_action: HeaderValueOption['append_action'] = 'OVERWRITE_IF_EXISTS_OR_ADD', keep_empty_value?: boolean): HeaderValueOption {
  return { header: { key, value }, append_action, ...(keep_empty_value !== undefined ? { keep_empty_value } : {}) };
}

export function headers(h: Record<string, string> = {}): HeaderLookup {
  const m = new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name) => m.get(name) };
}

export function request(path: string, opts: { authority?: string; method?: string; headers?: Record<string, string>; isGrpc?: boolean } = {}): RequestView {
  return {
    authority: opts.authority ?? 'svc',
    path,
    method: opts.method ?? 'GET',
    headers: headers(opts.headers),
    isGrpc: opts.isGrpc ?? false,
  };
}

/** Deterministic PRNG (mulberry32) for statistical tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A WHATWG-Headers-like multi-map for header mutation tests. */
export class TestHeaders {
  readonly map = new Map<string, string[]>();
  constructor(init: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(init)) this.map.set(k, [v]);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  set(name: string, value: string): void {
    this.map.set(name, [value]);
  }
  append(name: string, value: string): void {
    const cur = this.map.get(name);
    if (cur) cur.push(value);
    else this.map.set(name, [value]);
  }
  delete(name: string): void {
    this.map.delete(name);
  }
  toObject(): Record<string, string> {
    return Object.fromEntries([...this.map].map(([k, v]) => [k, v.join(',')]));
  }
}
