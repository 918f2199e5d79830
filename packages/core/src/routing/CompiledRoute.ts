import type { ClusterWeight, Route, RouteConfiguration, VirtualHost } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { ClusterPicker, PickedCluster } from './ClusterPicker.js';
import { ClusterHeaderPicker } from './ClusterHeaderPicker.js';
import { HeaderMutation } from './HeaderMutation.js';
import type { HeaderMutationLevel } from './HeaderMutation.js';
import type { PathRewriter } from './PathRewriter.js';
import { compilePathRewriter, IDENTITY_REWRITE } from './PathRewriter.js';
import type { Redirect } from './RedirectAction.js';
import { CompiledRedirect } from './RedirectAction.js';
import type { HeaderLookup, RequestView } from './RequestView.js';
import { RouteMatcher } from './RouteMatcher.js';
import { SingleClusterPicker } from './SingleClusterPicker.js';
import { WeightedClusterPicker } from './WeightedClusterPicker.js';

export type RouteActionKind = 'route' | 'redirect' | 'direct_response' | 'non_forwarding';

const FORBIDDEN_HOST = /[\0-\x20\x7f/?#@]/;

/** Where a route sits in its configuration, for header-mutation merging and error paths. */
export interface RouteScope {
  readonly config: RouteConfiguration;
  readonly virtualHost: VirtualHost;
  readonly fieldPath: string;
  readonly virtualHostFieldPath: string;
}

/**
 * One route, compiled once per config push: its matcher, how it picks a cluster, its path / host
 * rewrites, its redirect and its merged header mutations.
 */
export class CompiledRoute {
  readonly action: RouteActionKind;
  readonly matcher: RouteMatcher;
  /** For `route` actions with cluster / cluster_header / weighted_clusters; undefined otherwise (incl. cluster_specifier_plugin, unsupported). */
  readonly clusterPicker: ClusterPicker | undefined;
  /** Request/response header mutations of route + virtual host + route configuration levels. */
  readonly headerMutation: HeaderMutation;
  private readonly weightedMutations: Map<ClusterWeight, HeaderMutation> | undefined;
  private readonly pathRewriter: PathRewriter;
  /** RouteAction.auto_host_rewrite: the authority depends on each attempt's host (see rewriteHost). */
  readonly autoHostRewrite: boolean;
  private readonly redirectAction: CompiledRedirect | undefined;

  constructor(
    readonly route: Route,
    scope: RouteScope,
  ) {
    const fieldPath = scope.fieldPath;
    this.matcher = new RouteMatcher(route.match, `${fieldPath}.match`);
    // Counted without a throwaway array: this runs once per route, 10,000 times for a large table.
    const actions = defined(route.route) + defined(route.redirect) + defined(route.direct_response) + defined(route.non_forwarding_action);
    if (actions !== 1) throw new ValidationError(fieldPath, actions === 0 ? 'route has no action' : 'route has more than one action');
    this.action = route.route !== undefined ? 'route' : route.redirect !== undefined ? 'redirect' : route.direct_response !== undefined ? 'direct_response' : 'non_forwarding';

    const mostSpecificWins = scope.config.most_specific_header_mutations_wins === true;
    let outerLevels: { level: HeaderMutationLevel; fieldPath: string }[] | undefined;
    const outer = (): { level: HeaderMutationLevel; fieldPath: string }[] =>
      (outerLevels ??= [
        { level: route, fieldPath: `${fieldPath}.` },
        { level: scope.virtualHost, fieldPath: `${scope.virtualHostFieldPath}.` },
        { level: scope.config, fieldPath: '' },
      ]);
    // Most routes, virtual hosts and configurations mutate no headers: no levels to merge then.
    const anyMutation = mutates(route) || mutates(scope.virtualHost) || mutates(scope.config);
    this.headerMutation = anyMutation ? HeaderMutation.compile(outer(), mostSpecificWins) : HeaderMutation.EMPTY;

    let picker: ClusterPicker | undefined;
    let weightedMutations: Map<ClusterWeight, HeaderMutation> | undefined;
    let rewriter: PathRewriter = IDENTITY_REWRITE;
    const ra = route.route;
    if (ra !== undefined) {
      const rp = `${fieldPath}.route`;
      const specifiers = defined(ra.cluster) + defined(ra.cluster_header) + defined(ra.weighted_clusters) + defined(ra.cluster_specifier_plugin);
      if (specifiers !== 1) throw new ValidationError(rp, specifiers === 0 ? 'RouteAction has no cluster_specifier' : 'RouteAction has more than one cluster_specifier');
      if (ra.cluster !== undefined) {
        if (ra.cluster === '') throw new ValidationError(`${rp}.cluster`, 'cluster name must not be empty');
        picker = new SingleClusterPicker(ra.cluster);
      } else if (ra.cluster_header !== undefined) {
        const name = ra.cluster_header.toLowerCase();
        if (name === '' || name.startsWith(':')) throw new ValidationError(`${rp}.cluster_header`, `invalid cluster_header ${JSON.stringify(ra.cluster_header)}`);
        picker = new ClusterHeaderPicker(name);
      } else if (ra.weighted_clusters !== undefined) {
        const wp = `${rp}.weighted_clusters`;
        const weighted = new WeightedClusterPicker(ra.weighted_clusters, wp);
        picker = weighted;
        weightedMutations = new Map();
        ra.weighted_clusters.clusters.forEach((cw, i) => {
          weightedMutations!.set(cw, HeaderMutation.compile([{ level: cw, fieldPath: `${wp}.clusters[${i}].` }, ...outer()], mostSpecificWins));
          checkHost(cw.host_rewrite_literal, `${wp}.clusters[${i}].host_rewrite_literal`);
        });
      }
      checkHost(ra.host_rewrite_literal, `${rp}.host_rewrite_literal`);
      const hostRewrites = defined(ra.host_rewrite_literal) + (ra.auto_host_rewrite === true ? 1 : 0) + defined(ra.host_rewrite_header);
      if (hostRewrites > 1) throw new ValidationError(rp, 'only one of host_rewrite_literal, auto_host_rewrite, host_rewrite_header may be set');
      rewriter = compilePathRewriter(ra, this.matcher.path, rp);
    }
    this.clusterPicker = picker;
    this.weightedMutations = weightedMutations;
    this.pathRewriter = rewriter;
    this.autoHostRewrite = route.route?.auto_host_rewrite === true;
    this.redirectAction = route.redirect !== undefined ? new CompiledRedirect(route.redirect, this.matcher.path, `${fieldPath}.redirect`) : undefined;
  }

  get name(): string | undefined {
    return this.route.name;
  }

  /** The header mutations to apply for a picked cluster: its weighted-cluster level merged with the outer levels. */
  headerMutationFor(picked: PickedCluster | undefined): HeaderMutation {
    const w = picked?.weight;
    if (w === undefined || this.weightedMutations === undefined) return this.headerMutation;
    return this.weightedMutations.get(w) ?? this.headerMutation;
  }

  /**
   * The upstream `:path` after prefix_rewrite / regex_rewrite (route actions only). The query is kept
   * and the result always starts with '/'. Returns `path` itself when the route has no rewrite.
   */
  rewritePath(path: string): string {
    return this.pathRewriter.rewrite(path);
  }

  /**
   * The upstream `:authority`, or undefined to keep the request's. Precedence: the picked weighted
   * cluster's host_rewrite_literal, the route's host_rewrite_literal, host_rewrite_header (when the
   * header is present and non-empty), auto_host_rewrite (the upstream endpoint's hostname, when the
   * caller knows it).
   */
  rewriteHost(headers: HeaderLookup, picked?: PickedCluster, upstreamHostname?: string): string | undefined {
    const ra = this.route.route;
    if (ra === undefined) return undefined;
    const weighted = picked?.weight?.host_rewrite_literal;
    if (weighted !== undefined && weighted !== '') return weighted;
    if (ra.host_rewrite_literal !== undefined && ra.host_rewrite_literal !== '') return ra.host_rewrite_literal;
    if (ra.host_rewrite_header !== undefined) {
      const v = headers.get(ra.host_rewrite_header.toLowerCase());
      // A header value is only used when it is a plausible authority.
      return v != null && v !== '' && !FORBIDDEN_HOST.test(v) ? v : undefined;
    }
    if (ra.auto_host_rewrite === true && upstreamHostname !== undefined && upstreamHostname !== '') return upstreamHostname;
    return undefined;
  }

  /** For `redirect` routes: the status and Location. `scheme` defaults to the `:scheme` header, else 'http'. */
  redirectLocation(req: RequestView, scheme?: string): Redirect | undefined {
    return this.redirectAction?.redirect(req, scheme);
  }
}

/** 1 when set: for counting the members of a oneof. */
function defined(value: unknown): number {
  return value === undefined ? 0 : 1;
}

function mutates(level: HeaderMutationLevel): boolean {
  return level.request_headers_to_add.length > 0 || level.request_headers_to_remove.length > 0 || level.response_headers_to_add.length > 0 || level.response_headers_to_remove.length > 0;
}

function checkHost(value: string | undefined, fieldPath: string): void {
  if (value !== undefined && FORBIDDEN_HOST.test(value)) throw new ValidationError(fieldPath, `invalid host ${JSON.stringify(value)}`);
}
