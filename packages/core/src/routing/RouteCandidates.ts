/**
 * The routes of one virtual host that a request's path can match, by the path's second character (the
 * first after the leading '/'), worked out once per config push. A route whose path specifier has a known
 * literal start of two characters or more (a case-sensitive prefix, path or path_separated_prefix, or a
 * regex's literal start) cannot match a path whose second character differs, so it is left out of the
 * other characters' lists; every other route is in every list. Each list keeps the routes' order, so the
 * first match among the candidates is the first match of the whole list: Envoy's first-match-wins holds.
 * With 10 routes of distinct prefixes, a request tries 3 or 4 instead of all 10.
 */
export class RouteCandidates {
  private constructor(
    /** Per ASCII code, 1 + the index in `lists` of the routes a path with that second character may match; 0: `unkeyed`; EVERY_ROUTE. */
    private readonly index: Uint8Array,
    private readonly lists: readonly (readonly number[])[],
    /** The routes any path may match (no literal start of two characters known). */
    private readonly unkeyed: readonly number[],
  ) {}

  /**
   * `literals[i]`: a literal every path route i matches starts with, compared case-sensitively ('' when none
   * is known). Undefined when the lists would not spare enough to pay for the lookup, or would hold more than
   * MAX_ENTRIES_PER_ROUTE indices per route (many routes without a literal start and many distinct characters).
   */
  static of(literals: readonly string[]): RouteCandidates | undefined {
    if (literals.length < MIN_ROUTES) return undefined;
    const keys = literals.map((literal) => (literal.length >= 2 && literal.charCodeAt(1) < 128 ? literal.charCodeAt(1) : -1));
    const distinct = [...new Set(keys.filter((k) => k >= 0))];
    const unkeyed = keys.flatMap((k, i) => (k < 0 ? [i] : []));
    const entries = keys.length - unkeyed.length + distinct.length * unkeyed.length;
    if (distinct.length === 0 || entries > MAX_ENTRIES_PER_ROUTE * literals.length) return undefined;
    const index = new Uint8Array(128);
    const lists: number[][] = [];
    for (const k of distinct) {
      const list = keys.flatMap((key, i) => (key === k || key < 0 ? [i] : []));
      // A list that spares few routes costs more than it saves: going through it is an extra load per route
      // tried (about 5 ns), skipping a route saves its match (10 to 20 ns). Such paths try every route.
      if (list.length > MAX_SHARE * literals.length) index[k] = EVERY_ROUTE;
      else index[k] = lists.push(list);
    }
    return lists.length === 0 ? undefined : new RouteCandidates(index, lists, unkeyed);
  }

  /**
   * The candidate route indices, in order, for `path` whose path part (before '?' or '#') ends at `pathEnd`;
   * undefined when every route is to be tried (a second character outside ASCII, or one most routes start with).
   */
  for(path: string, pathEnd: number): readonly number[] | undefined {
    // A path part shorter than two characters starts with no literal of two or more.
    if (pathEnd < 2) return this.unkeyed;
    const c = path.charCodeAt(1);
    if (c >= 128) return undefined;
    const n = this.index[c]!;
    return n === 0 ? this.unkeyed : n === EVERY_ROUTE ? undefined : this.lists[n - 1];
  }
}

/** Below this many routes, trying them all costs about what the lookup would save. */
const MIN_ROUTES = 4;
/** A list of more than this share of the routes is not kept (see of()). */
const MAX_SHARE = 0.75;
/** `index` entry of a character whose paths try every route. */
const EVERY_ROUTE = 255;
/** The most route indices the lists may hold, per route (their memory is bounded by the config's size). */
const MAX_ENTRIES_PER_ROUTE = 4;
