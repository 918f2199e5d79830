import type { RegexMatcher } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { RE2, RE2ExecArray } from 're2-wasm';
import type { PathMatcher } from './PathMatcher.js';
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

/** A substitution compiled into literal pieces and capture-group numbers (RE2 rewrite syntax: `\0`-`\9`, `\\`). */
type Piece = string | number;

function compileSubstitution(substitution: string, fieldPath: string): readonly Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < substitution.length; i++) {
    const ch = substitution[i]!;
    if (ch !== '\\') {
      literal += ch;
      continue;
    }
    const next = substitution[i + 1];
    if (next === '\\') {
      literal += '\\';
      i++;
    } else if (next !== undefined && next >= '0' && next <= '9') {
      if (literal !== '') pieces.push(literal);
      literal = '';
      pieces.push(Number(next));
      i++;
    } else {
      throw new ValidationError(fieldPath, `invalid rewrite pattern ${JSON.stringify(substitution)}: '\\' must be followed by a digit or '\\'`);
    }
  }
  if (literal !== '') pieces.push(literal);
  return pieces;
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
 * Global replace done here rather than with RE2#replace: re2-wasm's global replace never advances past
 * an empty match (pattern `x*` loops forever). After an empty match one character is copied and the
 * search resumes after it, which is what RE2::GlobalReplace does too.
 */
class RegexRewriter implements PathRewriter {
  constructor(
    private readonly re: RE2,
    private readonly pieces: readonly Piece[],
  ) {}

  private substitute(m: RE2ExecArray): string {
    let out = '';
    for (const p of this.pieces) {
      if (typeof p === 'string') out += p;
      else out += m[p] ?? '';
    }
    return out;
  }

  rewrite(path: string): string {
    const end = queryStart(path);
    const part = end === path.length ? path : path.slice(0, end);
    const re = this.re;
    let out = '';
    let copied = 0;
    re.lastIndex = 0;
    while (copied <= part.length) {
      const m = re.exec(part);
      if (m === null) break;
      const start = m.index;
      const stop = start + m[0]!.length;
      out += part.slice(copied, start) + this.substitute(m);
      if (stop > start) {
        copied = stop;
        continue;
      }
      if (start >= part.length) {
        copied = part.length;
        break;
      }
      // Empty match: keep the next character (a whole surrogate pair) and search after it.
      const step = isHighSurrogate(part.charCodeAt(start)) && start + 1 < part.length ? 2 : 1;
      out += part.slice(start, start + step);
      copied = start + step;
      re.lastIndex = copied;
    }
    re.lastIndex = 0;
    return assemble(out + part.slice(copied), path, end);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

export interface RewriteConfig {
  readonly prefix_rewrite?: string;
  readonly regex_rewrite?: { readonly pattern: RegexMatcher; readonly substitution: string };
}

/**
 * Compiles RouteAction / RedirectAction prefix_rewrite and regex_rewrite (mutually exclusive).
 * regex_rewrite replaces every non-overlapping match in the path part (RE2::GlobalReplace).
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
    return new RegexRewriter(re, compileSubstitution(regex_rewrite.substitution, subPath));
  }
  return IDENTITY_REWRITE;
}
