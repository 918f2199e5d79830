import type { RE2 } from 're2-wasm';
import { checkRe2, compileRe2 } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';

/**
 * RE2 compilation for the regexes in route config (RegexMatcher.regex, google_re2 engine).
 *
 * re2-wasm keeps each compiled program in a fixed 16 MiB WebAssembly heap; compileRe2 frees a
 * program once its RE2 object is collected (see xds-client's Re2.ts). Compiled objects are shared
 * per (pattern, mode) while some RouteTable holds them, so a push that repeats a pattern reuses the
 * compiled object; the cache holds them weakly, so patterns that left the config are freed. Interning
 * them for the life of the process (as before) ran the heap out after a few thousand distinct
 * patterns, and re2-wasm then aborted. Compiled objects are only used synchronously (test /
 * replace), so sharing them between RouteTables is safe.
 */
class WeakRe2Cache {
  private readonly entries = new Map<string, WeakRef<RE2>>();
  private readonly dropped = new FinalizationRegistry<string>((pattern) => {
    if (this.entries.get(pattern)?.deref() === undefined) this.entries.delete(pattern);
  });

  get(pattern: string): RE2 | undefined {
    return this.entries.get(pattern)?.deref();
  }

  set(pattern: string, re: RE2): void {
    this.entries.set(pattern, new WeakRef(re));
    this.dropped.register(re, pattern);
  }
}

const fullMatchCache = new WeakRe2Cache();
const searchCache = new WeakRe2Cache();

function invalid(err: unknown, pattern: string, fieldPath: string): ValidationError {
  const detail = err instanceof Error ? err.message : String(err);
  return new ValidationError(fieldPath, `invalid RE2 regex ${JSON.stringify(pattern)}: ${detail}`);
}

function compile(source: string, flags: string, pattern: string, fieldPath: string): RE2 {
  try {
    return compileRe2(source, flags);
  } catch (err) {
    throw invalid(err, pattern, fieldPath);
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
    try {
      checkRe2(pattern, 'u');
    } catch (err) {
      throw invalid(err, pattern, fieldPath);
    }
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
