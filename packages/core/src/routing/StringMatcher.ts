import type { StringMatcher } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { asciiLower, indexOfIgnoreCase, regionEqualsIgnoreCase } from './AsciiCase.js';
import { compileFullMatch } from './Re2Pattern.js';

/** A compiled envoy.type.matcher.v3.StringMatcher. */
export interface CompiledStringMatcher {
  matches(value: string): boolean;
}

/**
 * Compiles a StringMatcher once per push. `ignore_case` folds ASCII only and, as in Envoy, has no
 * effect on `safe_regex` (which must match the whole value).
 */
export function compileStringMatcher(m: StringMatcher, fieldPath: string): CompiledStringMatcher {
  const ignoreCase = m.ignore_case === true;
  if (m.exact !== undefined) {
    const exact = m.exact;
    if (!ignoreCase) return { matches: (v) => v === exact };
    const lower = asciiLower(exact);
    return { matches: (v) => v.length === lower.length && regionEqualsIgnoreCase(v, 0, lower) };
  }
  if (m.prefix !== undefined) {
    const prefix = m.prefix;
    if (!ignoreCase) return { matches: (v) => v.startsWith(prefix) };
    const lower = asciiLower(prefix);
    return { matches: (v) => regionEqualsIgnoreCase(v, 0, lower) };
  }
  if (m.suffix !== undefined) {
    const suffix = m.suffix;
    if (!ignoreCase) return { matches: (v) => v.endsWith(suffix) };
    const lower = asciiLower(suffix);
    return { matches: (v) => regionEqualsIgnoreCase(v, v.length - lower.length, lower) };
  }
  if (m.contains !== undefined) {
    const needle = m.contains;
    if (!ignoreCase) return { matches: (v) => v.includes(needle) };
    const lower = asciiLower(needle);
    return { matches: (v) => indexOfIgnoreCase(v, lower) >= 0 };
  }
  if (m.safe_regex !== undefined) {
    const re = compileFullMatch(m.safe_regex.regex, `${fieldPath}.safe_regex.regex`);
    return { matches: (v) => re.test(v) };
  }
  throw new ValidationError(fieldPath, 'StringMatcher has no match_pattern');
}
