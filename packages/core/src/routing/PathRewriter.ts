import type { RegexMatcher } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { RE2 } from 're2-wasm';
import type { PathMatcher } from './PathMatcher.js';
import { compileRe2Substitution, re2GlobalReplace, type Re2Substitution } from './Re2GlobalReplace.js';
import { compileGlobalSearch } from './Re2Pattern.js';

/** Rewrites the path part of `:path`; the query (and fragment) is carried over unchanged. */
export interface PathRewriter {
  rewrite(path: string): string;
}

export const IDENTITY_REWRITE: PathRewriter = { rewrite: (path) => path };

// Characters a rewrite may never put into a path: controls, space, and the query/fragment delimiters
// (a rewrite of the path part must not invent a query).
const FORBIDDEN_IN_REWRITE = /[\0-\x20\x7f?#]/;

function queryStart(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 63 || c === 35) return i;
  }
  return path.length;
}

/** The rewritten path part always starts with '/' (an empty result becomes '/'). */
function assemble(newPathPart: string, path: string, end: number): string {
  const rooted = newPathPart.charCodeAt(0) === 47 ? newPathPart : `/${newPathPart}`;
  return end === path.length ? rooted : rooted + path.slice(end);
}

class PrefixRewriter implements PathRewriter {
  constructor(
    private readonly matcher: PathMatcher,
    private readonly replacement: string,
  ) {}

  rewrite(path: string): string {
    const end = queryStart(path);
    // path and safe_regex routes matched the whole path part, so the whole of it is replaced.
    const kind = this.matcher.kind;
    const matchedLength = kind === 'prefix' || kind === 'path_separated_prefix' ? this.matcher.value.length : end;
    if (matchedLength > end) return path; // not the path this route matched
    return assemble(this.replacement + path.slice(matchedLength, end), path, end);
  }
}

/**
 * The longest path part (before `?` or `#`) regex_rewrite is applied to, in UTF-16 code units; the
 * searches one rewrite makes are bounded by Re2GlobalReplace's MAX_RE2_REPLACE_SEARCHES.
 *
 * re2-wasm finds capture groups with RE2's BitState engine while the program size times the text
 * length fits its bitmap, else with its NFA, which in WASM costs microseconds a character:
 * `^/(.*)/(.*)/(.*)$` -> `/\3/\2/\1` takes about 2 ms on 8 KiB and 12 KiB paths, 170 ms on 16 KiB
 * and 660 ms on 60 KiB, the mesh's path limit (bench/regex-rewrite.mjs). A request over either
 * bound fails with an error naming the route's field, rather than being sent upstream unrewritten
 * or with only some matches replaced. Envoy has no such bound because native RE2 is fast enough;
 * 8 KiB is far above what real paths need: RFC 9110's recommended minimum length for the whole URI,
 * query included.
 */
export const MAX_REGEX_REWRITE_PATH_LENGTH = 8 * 1024;

class RegexRewriter implements PathRewriter {
  constructor(
    private readonly re: RE2,
    private readonly substitution: Re2Substitution,
    private readonly fieldPath: string,
  ) {}

  rewrite(path: string): string {
    const end = queryStart(path);
    if (end > MAX_REGEX_REWRITE_PATH_LENGTH) {
      throw new RangeError(`${this.fieldPath}: the path is ${end} characters before its query, over the ${MAX_REGEX_REWRITE_PATH_LENGTH} regex_rewrite is applied to`);
    }
    const part = end === path.length ? path : path.slice(0, end);
    return assemble(re2GlobalReplace(this.re, part, this.substitution, this.fieldPath), path, end);
  }
}

export interface RewriteConfig {
  readonly prefix_rewrite?: string;
  readonly regex_rewrite?: { readonly pattern: RegexMatcher; readonly substitution: string };
}

/**
 * Compiles RouteAction / RedirectAction prefix_rewrite and regex_rewrite (mutually exclusive).
 * regex_rewrite replaces every non-overlapping match in the path part (RE2::GlobalReplace, bounded).
 */
export function compilePathRewriter(config: RewriteConfig, matcher: PathMatcher, fieldPath: string): PathRewriter {
  const { prefix_rewrite, regex_rewrite } = config;
  if (prefix_rewrite !== undefined && regex_rewrite !== undefined) {
    throw new ValidationError(fieldPath, 'prefix_rewrite and regex_rewrite are mutually exclusive');
  }
  if (prefix_rewrite !== undefined) {
    if (FORBIDDEN_IN_REWRITE.test(prefix_rewrite)) {
      throw new ValidationError(`${fieldPath}.prefix_rewrite`, 'prefix_rewrite must not contain control characters, space, ? or #');
    }
    return new PrefixRewriter(matcher, prefix_rewrite);
  }
  if (regex_rewrite !== undefined) {
    const subPath = `${fieldPath}.regex_rewrite.substitution`;
    if (FORBIDDEN_IN_REWRITE.test(regex_rewrite.substitution)) {
      throw new ValidationError(subPath, 'substitution must not contain control characters, space, ? or #');
    }
    const re = compileGlobalSearch(regex_rewrite.pattern.regex, `${fieldPath}.regex_rewrite.pattern.regex`);
    return new RegexRewriter(re, compileRe2Substitution(regex_rewrite.substitution, subPath), `${fieldPath}.regex_rewrite`);
  }
  return IDENTITY_REWRITE;
}
