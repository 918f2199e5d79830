import { RE2 } from 're2-wasm';
import type { HeaderMatcher, StringMatcher } from '@meshlet/xds-client';
import type { HeaderLookup } from './HeaderLookup.js';

type Test = (value: string) => boolean;

/**
 * A list of envoy.config.route.v3.HeaderMatcher compiled once per push.
 * Used by retriable_headers / retriable_request_headers and the fault filter's
 * `headers`; route matching has its own (routing/) because it also needs query matchers.
 */
export class HeaderMatcherSet {
  static readonly EMPTY = new HeaderMatcherSet([], []);

  private constructor(
    private readonly names: readonly string[],
    private readonly tests: readonly CompiledHeaderTest[],
  ) {}

  static compile(matchers: readonly HeaderMatcher[]): HeaderMatcherSet {
    if (matchers.length === 0) return HeaderMatcherSet.EMPTY;
    return new HeaderMatcherSet(
      matchers.map((m) => m.name.toLowerCase()),
      matchers.map(compileOne),
    );
  }

  get size(): number {
    return this.tests.length;
  }

  /** Envoy HeaderUtility::matchHeaders: every matcher must match (empty set matches). */
  matchesAll(headers: HeaderLookup): boolean {
    for (let i = 0; i < this.tests.length; i++) if (!this.tests[i]!.matches(headers.get(this.names[i]!))) return false;
    return true;
  }

  /** retriable_headers semantics: any one matcher matching is enough. */
  matchesAny(headers: HeaderLookup): boolean {
    for (let i = 0; i < this.tests.length; i++) if (this.tests[i]!.matches(headers.get(this.names[i]!))) return true;
    return false;
  }
}

interface CompiledHeaderTest {
  matches(value: string | null | undefined): boolean;
}

function compileOne(m: HeaderMatcher): CompiledHeaderTest {
  const invert = m.invert_match;
  const missingAsEmpty = m.treat_missing_header_as_empty === true;
  // present_match: the header's presence is the whole test (inverted by present_match=false).
  if (m.present_match !== undefined) {
    const want = m.present_match;
    return { matches: (v) => ((v != null) === want) !== invert };
  }
  const test = valueTest(m);
  return {
    matches(v) {
      if (v == null) {
        // A missing header never matches, even inverted, unless treat_missing_header_as_empty.
        if (!missingAsEmpty) return false;
        v = '';
      }
      return test(v) !== invert;
    },
  };
}

function valueTest(m: HeaderMatcher): Test {
  if (m.exact_match !== undefined) {
    const e = m.exact_match;
    return (v) => v === e;
  }
  if (m.prefix_match !== undefined) {
    const p = m.prefix_match;
    return (v) => v.startsWith(p);
  }
  if (m.suffix_match !== undefined) {
    const s = m.suffix_match;
    return (v) => v.endsWith(s);
  }
  if (m.contains_match !== undefined) {
    const c = m.contains_match;
    return (v) => v.includes(c);
  }
  if (m.safe_regex_match !== undefined) return fullRegex(m.safe_regex_match.regex, false);
  if (m.range_match !== undefined) {
    // int64 range [start, end); a value that is not an integer does not match.
    const { start, end } = m.range_match;
    return (v) => {
      if (!/^[+-]?\d+$/.test(v)) return false;
      const n = Number(v);
      return n >= start && n < end;
    };
  }
  if (m.string_match !== undefined) return compileStringMatcher(m.string_match);
  // No value matcher: presence only.
  return () => true;
}

/** envoy.type.matcher.v3.StringMatcher. */
export function compileStringMatcher(sm: StringMatcher): Test {
  const ic = sm.ignore_case === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  if (sm.exact !== undefined) {
    const e = norm(sm.exact);
    return (v) => norm(v) === e;
  }
  if (sm.prefix !== undefined) {
    const p = norm(sm.prefix);
    return (v) => norm(v).startsWith(p);
  }
  if (sm.suffix !== undefined) {
    const s = norm(sm.suffix);
    return (v) => norm(v).endsWith(s);
  }
  if (sm.contains !== undefined) {
    const c = norm(sm.contains);
    return (v) => norm(v).includes(c);
  }
  // ignore_case has no effect on safe_regex (envoy).
  if (sm.safe_regex !== undefined) return fullRegex(sm.safe_regex.regex, false);
  return () => true;
}

/** Envoy regex matchers match the whole value (RE2 FullMatch). */
function fullRegex(pattern: string, ignoreCase: boolean): Test {
  const re = new RE2(`^(?:${pattern})$`, ignoreCase ? 'iu' : 'u');
  return (v) => re.test(v);
}
