import type { RE2 } from 're2-wasm';
import { loadRe2 } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';

/**
 * RE2 compilation for the regexes in route config (RegexMatcher.regex, google_re2 engine).
 *
 * re2-wasm objects live in WASM memory that the JS GC does not reclaim, so a regex compiled on every
 * config push would leak. Patterns are therefore interned per (pattern, mode) for the life of the
 * process: a push that repeats a pattern reuses the compiled object; memory grows only with the number
 * of distinct patterns ever seen. Compiled objects are only used synchronously (test / replace), so
 * sharing them between RouteTables is safe.
 */
const fullMatchCache = new Map<string, RE2>();
const searchCache = new Map<string, RE2>();

function compile(source: string, flags: string, pattern: string, fieldPath: string): RE2 {
  try {
    return new (loadRe2())(source, flags);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ValidationError(fieldPath, `invalid RE2 regex ${JSON.stringify(pattern)}: ${detail}`);
  }
}

/**
 * A regex that must match the WHOLE input (Envoy uses RE2::FullMatch for safe_regex path, header
 * and string matchers). Anchoring with `^(?:...)$` is exact in RE2: without the `m` flag `$` matches
 * only at the end of text (unlike Perl, not before a trailing newline).
 */
export function compileFullMatch(pattern: string, fieldPath: string): RE2 {
  let re = fullMatchCache.get(pattern);
  if (re === undefined) {
    re = compile(`^(?:${pattern})$`, 'u', pattern, fieldPath);
    // A pattern like `a)|(b` would escape the group; compile the bare pattern too to reject it.
    compile(pattern, 'u', pattern, fieldPath);
    fullMatchCache.set(pattern, re);
  }
  return re;
}

/** A global (all non-overlapping matches) search regex, for regex_rewrite (RE2::GlobalReplace). */
export function compileGlobalSearch(pattern: string, fieldPath: string): RE2 {
  let re = searchCache.get(pattern);
  if (re === undefined) {
    re = compile(pattern, 'gu', pattern, fieldPath);
    searchCache.set(pattern, re);
  }
  return re;
}
