import type { RouteMatch } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { asciiLower, regionEqualsIgnoreCase } from './AsciiCase.js';
import { compileFullMatch, type FullMatchRegex } from './Re2Pattern.js';
import type { RouteMatchContext } from './RouteMatchContext.js';

export type PathMatchKind = 'prefix' | 'path' | 'safe_regex' | 'path_separated_prefix' | 'connect_matcher';

/**
 * The path specifier of a RouteMatch. Every kind matches the path with query and fragment removed
 * (Envoy's PathMatcher strips them). `case_sensitive: false` folds ASCII for prefix / path /
 * path_separated_prefix; it does not apply to safe_regex (use `(?i)` there).
 */
export class PathMatcher {
  readonly kind: PathMatchKind;
  /** prefix / path / path_separated_prefix value as configured ('' for regex and connect). */
  readonly value: string;
  private readonly lowerValue: string;
  private readonly caseSensitive: boolean;
  private readonly regex: FullMatchRegex | undefined;
  /** A literal every path the regex matches starts with ('' when none is known): checked before RE2 runs. */
  private readonly regexPrefix: string;

  constructor(match: RouteMatch, fieldPath: string) {
    this.caseSensitive = match.case_sensitive !== false;
    let kind: PathMatchKind | undefined;
    let count = 0;
    if (match.prefix !== undefined) { kind = 'prefix'; count++; }
    if (match.path !== undefined) { kind = 'path'; count++; }
    if (match.safe_regex !== undefined) { kind = 'safe_regex'; count++; }
    if (match.path_separated_prefix !== undefined) { kind = 'path_separated_prefix'; count++; }
    if (match.connect_matcher !== undefined) { kind = 'connect_matcher'; count++; }
    if (kind === undefined || count !== 1) {
      throw new ValidationError(fieldPath, count === 0 ? 'RouteMatch has no path_specifier' : 'RouteMatch has more than one path_specifier');
    }
    this.kind = kind;
    this.value = match.prefix ?? match.path ?? match.path_separated_prefix ?? '';
    this.lowerValue = asciiLower(this.value);
    if (kind === 'path_separated_prefix') {
      const p = this.value;
      // Envoy's PGV pattern (route_components.proto): no '?' or '#', not ending in '/', two characters at
      // least. No leading '/' is required: Envoy accepts such a route, and it never matches a path.
      if (!/^[^?#]+[^?#/]$/.test(p)) {
        throw new ValidationError(`${fieldPath}.path_separated_prefix`, `invalid path_separated_prefix ${JSON.stringify(p)}`);
      }
    }
    this.regex = kind === 'safe_regex' ? compileFullMatch(match.safe_regex!.regex, `${fieldPath}.safe_regex.regex`) : undefined;
    this.regexPrefix = kind === 'safe_regex' ? literalPrefix(match.safe_regex!.regex) : '';
  }

  /** A literal every path this matcher accepts starts with, compared case-sensitively ('' when none is known). */
  get literalStart(): string {
    if (this.kind === 'safe_regex') return this.regexPrefix;
    if (this.kind === 'connect_matcher' || !this.caseSensitive) return '';
    return this.value;
  }

  private startsWith(path: string, end: number, p: string, lower: string): boolean {
    if (p.length > end) return false;
    return this.caseSensitive ? path.startsWith(p) : regionEqualsIgnoreCase(path, 0, lower);
  }

  matches(ctx: RouteMatchContext): boolean {
    const path = ctx.req.path;
    const end = ctx.pathEnd;
    switch (this.kind) {
      case 'prefix':
        return this.startsWith(path, end, this.value, this.lowerValue);
      case 'path':
        return end === this.value.length && this.startsWith(path, end, this.value, this.lowerValue);
      case 'path_separated_prefix': {
        const n = this.value.length;
        if (!this.startsWith(path, end, this.value, this.lowerValue)) return false;
        return end === n || path.charCodeAt(n) === 47 /* / */;
      }
      case 'safe_regex': {
        // `/api/v[0-9]+/...` cannot match `/reviews/1`: a startsWith spares the call into re2-wasm.
        const part = ctx.pathPart();
        return part.startsWith(this.regexPrefix) && this.regex!.test(part);
      }
      case 'connect_matcher':
        return ctx.req.method === 'CONNECT';
    }
  }
}

/**
 * The literal text every full match of `pattern` starts with: its leading run of characters that
 * are never special in RE2 syntax outside a class (letters, digits, '/', '_', '-'), minus the last
 * one when a quantifier follows it. '' when the pattern has an alternation anywhere (a top-level
 * `|` would make the prefix optional) or starts with anything else (a group, flags, a class).
 */
export function literalPrefix(pattern: string): string {
  if (pattern.includes('|')) return '';
  let i = 0;
  while (i < pattern.length && /[A-Za-z0-9/_-]/.test(pattern[i]!)) i++;
  const next = pattern[i];
  if (next === '*' || next === '?' || next === '{' || next === '+') i--;
  return i > 0 ? pattern.slice(0, i) : '';
}
