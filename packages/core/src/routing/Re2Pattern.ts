import { createRequire } from 'node:module';
import type { RE2 } from 're2-wasm';
import type { RE2JS } from 're2js';
import { compileRe2, isPlainRe2, re2Problem } from '@meshlet/xds-client';
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
class WeakRe2Cache<T extends object> {
  private readonly entries = new Map<string, WeakRef<T>>();
  private readonly dropped = new FinalizationRegistry<string>((pattern) => {
    if (this.entries.get(pattern)?.deref() === undefined) this.entries.delete(pattern);
  });

  get(pattern: string): T | undefined {
    return this.entries.get(pattern)?.deref();
  }

  set(pattern: string, re: T): void {
    this.entries.set(pattern, new WeakRef(re));
    this.dropped.register(re, pattern);
  }
}

const fullMatchCache = new WeakRe2Cache<FullMatchRegex>();
const searchCache = new WeakRe2Cache<RE2>();

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

/** What route matching asks of a full-match regex. */
export interface FullMatchRegex {
  test(text: string): boolean;
}

let re2jsClass: typeof RE2JS | undefined;

/** re2js's RE2JS class, loaded on first use (its CommonJS build, so the first test stays synchronous). */
function loadRe2js(): typeof RE2JS {
  return (re2jsClass ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS);
}

/**
 * A full-match regex in the plain RE2 subset (xds-client's PlainRe2Syntax.ts), compiled on its first
 * test. Such a pattern is known to compile, so a config whose regex routes no request reaches (the
 * literal-prefix check in PathMatcher often answers first) loads no regex engine and compiles nothing.
 *
 * It runs on re2js (a pure-JavaScript port of RE2, linear time) rather than re2-wasm: re2-wasm costs
 * about 6 MB of resident memory once it has run (its WebAssembly code, its malloc zones, its glue),
 * re2js about 2.3 MB of V8 heap (bench/footprint-breakdown.mjs). On the plain subset both give the
 * same answers (PlainFullMatchEngines.test.ts), except around an unpaired UTF-16 surrogate, which
 * re2-wasm joins with the next code unit when it converts the text to UTF-8 and re2js reads as one
 * character: such a text (not one a URL or an HTTP header carries) goes to re2-wasm, so every
 * answer stays re2-wasm's.
 */
class CompiledOnFirstTest implements FullMatchRegex {
  private re: RE2JS | undefined;
  private wasm: RE2 | undefined;

  constructor(private readonly source: string) {}

  test(text: string): boolean {
    if (!(text as unknown as WellFormedString).isWellFormed()) return (this.wasm ??= compileRe2(this.source, 'u')).test(text);
    return (this.re ??= loadRe2js().compile(this.source)).test(text);
  }
}

/** String.prototype.isWellFormed (Node 20; ES2024, past the lib this project compiles against). */
interface WellFormedString {
  isWellFormed(): boolean;
}

/**
 * A regex that must match the WHOLE input (Envoy uses RE2::FullMatch for safe_regex path, header
 * and string matchers). Anchoring with `^(?:...)$` is exact in RE2: without the `m` flag `$` matches
 * only at the end of text (unlike Perl, not before a trailing newline). Validated here, as a push is
 * (a bad pattern throws ValidationError); compiled here, or on first use when it is plain RE2.
 */
export function compileFullMatch(pattern: string, fieldPath: string): FullMatchRegex {
  let re = fullMatchCache.get(pattern);
  if (re === undefined) {
    const anchored = `^(?:${pattern})$`;
    if (isPlainRe2(pattern) && isPlainRe2(anchored)) {
      re = new CompiledOnFirstTest(anchored);
    } else {
      re = compile(anchored, 'u', pattern, fieldPath);
      // A pattern like `a)|(b` would escape the group; the bare pattern must compile too to reject it.
      const problem = re2Problem(pattern);
      if (problem !== '') throw new ValidationError(fieldPath, `invalid RE2 regex ${JSON.stringify(pattern)}: ${problem}`);
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
