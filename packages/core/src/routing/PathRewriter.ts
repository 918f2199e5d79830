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
 * Bounds on one regex_rewrite, so that a long path cannot hold the event loop. re2-wasm is far slower
 * than native RE2 (bench/regex-rewrite.mjs, measured on 60 KiB paths, the mesh's path limit):
 *
 * - Every search copies its whole input into WASM memory (about 6 ns a character) and costs some
 *   10 us besides; a search that starts at lastIndex N first walks N characters (about 70 ns each).
 *   A global replace is one search per match, so `/+` -> `/` on a 60 KiB path of short segments
 *   (6,827 matches) took 17 s, and 300 ms on 8 KiB.
 * - Capture groups are found by RE2's BitState engine while the program size times the text length
 *   fits its bitmap, else by its NFA, which in WASM costs microseconds a character:
 *   `^/(.*)/(.*)/(.*)$` -> `/\3/\2/\1` takes about 2 ms on 8 KiB and 12 KiB, 170 ms on 16 KiB and
 *   660 ms on 60 KiB.
 *
 * So a search never starts past the first characters of its input (see RegexRewriter), and a
 * request whose rewrite would exceed either bound fails with an error naming the route's field,
 * rather than being sent upstream unrewritten or with only some matches replaced. Envoy has no such
 * bound because native RE2 is fast enough; these are far above what real paths need: 8 KiB is RFC
 * 9110's recommended minimum URI length for the whole URI (query included), and 128 searches replace
 * every slash of an 8 KiB path of 64-character segments. At the bounds a rewrite measured 3 to 14 ms
 * of CPU on a 2-core machine at load 8 to 9 (the searches near 50 us each on 8 KiB), against 280 to
 * 380 ms before on the same 8 KiB paths.
 */
/** The longest path part (before `?` or `#`) regex_rewrite is applied to, in UTF-16 code units. */
export const MAX_REGEX_REWRITE_PATH_LENGTH = 8 * 1024;
/** The most RE2 searches (about one per match) one regex_rewrite makes. */
export const MAX_REGEX_REWRITE_SEARCHES = 128;

/**
 * Global replace done here rather than with RE2#replace: re2-wasm's global replace never advances past
 * an empty match (pattern `x*` loops forever). As RE2::GlobalReplace does, an empty match right after
 * the previous match is not replaced, and after an empty match one character is copied and the search
 * resumes after it.
 *
 * Each search after the first is handed the rest of the path from one character before where it
 * resumes (a surrogate pair whole) with lastIndex past that character, not the whole path with
 * lastIndex far into it: re2-wasm walks lastIndex characters on every search. RE2 has no lookbehind,
 * so what a match starting at position p depends on before p is only whether p is the start of the
 * text (`^`, `\A`) and the character before p (`\b`, `\B`, `(?m)^`); keeping that character and
 * starting past 0 keeps both, so every pattern finds the same matches as on the whole path.
 */
class RegexRewriter implements PathRewriter {
  constructor(
    private readonly re: RE2,
    private readonly pieces: readonly Piece[],
    private readonly fieldPath: string,
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
    if (end > MAX_REGEX_REWRITE_PATH_LENGTH) {
      throw new RangeError(`${this.fieldPath}.regex_rewrite: the path is ${end} characters before its query, over the ${MAX_REGEX_REWRITE_PATH_LENGTH} regex_rewrite is applied to`);
    }
    const part = end === path.length ? path : path.slice(0, end);
    // re2-wasm counts lastIndex and match indices in code points: UTF-16 offsets unless the path
    // has a surrogate pair (never in an ASCII path), when they are converted. It miscounts around
    // an unpaired surrogate (not text, and not a character a URL can carry): such a path is refused.
    const surrogates = surrogatesIn(part);
    if (surrogates === Surrogates.Unpaired) throw new RangeError(`${this.fieldPath}.regex_rewrite: the path has an unpaired UTF-16 surrogate`);
    const wide = surrogates === Surrogates.Paired;
    const re = this.re;
    let out = '';
    let copied = 0;
    let lastEnd = -1; // where the previous replaced match ended
    let searches = 0;
    while (copied <= part.length) {
      if (++searches > MAX_REGEX_REWRITE_SEARCHES) {
        throw new RangeError(`${this.fieldPath}.regex_rewrite: the pattern needs more than ${MAX_REGEX_REWRITE_SEARCHES} RE2 searches (about one per match) on this path, the most one regex_rewrite makes`);
      }
      // The text from the character before `copied` (one code point, a pair whole), searched from after it.
      const back = copied === 0 ? 0 : wide && copied >= 2 && charLength(part, copied - 2) === 2 ? 2 : 1;
      const base = copied - back;
      const text = base === 0 ? part : part.slice(base);
      re.lastIndex = back === 0 ? 0 : 1;
      const m = re.exec(text);
      if (m === null) break;
      const start = base + (wide ? utf16Offset(text, m.index) : m.index);
      const stop = start + m[0]!.length;
      out += part.slice(copied, start);
      if (stop > start || start !== lastEnd) {
        out += this.substitute(m);
        lastEnd = stop;
        if (stop > start) {
          copied = stop;
          continue;
        }
      }
      if (start >= part.length) {
        copied = part.length;
        break;
      }
      // Empty match: keep the next character (a surrogate pair whole) and search after it.
      const step = charLength(part, start);
      out += part.slice(start, start + step);
      copied = start + step;
    }
    re.lastIndex = 0;
    return assemble(out + part.slice(copied), path, end);
  }
}

const enum Surrogates {
  None,
  Paired,
  Unpaired,
}

function surrogatesIn(text: string): Surrogates {
  let found = Surrogates.None;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    if (charLength(text, i) !== 2) return Surrogates.Unpaired;
    found = Surrogates.Paired;
    i++;
  }
  return found;
}

/** 2 for a surrogate pair at `i`, else 1. */
function charLength(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code < 0xd800 || code > 0xdbff || i + 1 >= text.length) return 1;
  const next = text.charCodeAt(i + 1);
  return next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
}

/** The UTF-16 offset of the `codePoints`-th code point of `text`. */
function utf16Offset(text: string, codePoints: number): number {
  let i = 0;
  for (let n = 0; n < codePoints && i < text.length; n++) i += charLength(text, i);
  return i;
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
    return new RegexRewriter(re, compileSubstitution(regex_rewrite.substitution, subPath), fieldPath);
  }
  return IDENTITY_REWRITE;
}
