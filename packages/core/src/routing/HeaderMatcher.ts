import type { HeaderMatcher } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { RequestView } from './RequestView.js';
import type { CompiledStringMatcher } from './StringMatcher.js';
import { compileStringMatcher } from './StringMatcher.js';
import { compileFullMatch } from './Re2Pattern.js';

/** Where a matcher reads its value: pseudo-headers come from the RequestView, the rest from headers. */
const enum Source {
  Header,
  Authority,
  Method,
  Path,
}

const INTEGER = /^[+-]?[0-9]+$/;

/**
 * A compiled envoy.config.route.v3.HeaderMatcher.
 *
 * Absent header (and no treat_missing_header_as_empty): only `present_match: false` matches, and
 * invert_match does NOT turn an absent header into a match (proto docs: header "header2" with a range
 * match and invert_match, absent, "will not match"). `present_match` itself is inverted normally.
 * `:authority`, `:method` and `:path` (full path with query) are read from the RequestView; other
 * pseudo-headers (`:scheme`) are looked up in `headers` by their name.
 */
export class CompiledHeaderMatcher {
  private readonly source: Source;
  private readonly name: string;
  private readonly invert: boolean;
  private readonly treatMissingAsEmpty: boolean;
  /** undefined = present match */
  private readonly value: CompiledStringMatcher | ((v: string) => boolean) | undefined;
  private readonly present: boolean;

  constructor(m: HeaderMatcher, fieldPath: string) {
    const name = m.name.toLowerCase();
    if (name === '') throw new ValidationError(`${fieldPath}.name`, 'header name must not be empty');
    this.name = name;
    this.source = name === ':authority' ? Source.Authority : name === ':method' ? Source.Method : name === ':path' ? Source.Path : Source.Header;
    this.invert = m.invert_match === true;
    this.treatMissingAsEmpty = m.treat_missing_header_as_empty === true;
    this.present = true;
    if (m.exact_match !== undefined) {
      const exact = m.exact_match;
      this.value = (v) => v === exact;
    } else if (m.safe_regex_match !== undefined) {
      const re = compileFullMatch(m.safe_regex_match.regex, `${fieldPath}.safe_regex_match.regex`);
      this.value = (v) => re.test(v);
    } else if (m.range_match !== undefined) {
      const { start, end } = m.range_match;
      if (!(start < end)) throw new ValidationError(`${fieldPath}.range_match`, `range start ${start} must be less than end ${end}`);
      // The whole value must be an integer: "-1somestring", "10.9" and "" never match.
      this.value = (v) => {
        if (!INTEGER.test(v)) return false;
        const n = Number(v);
        return n >= start && n < end;
      };
    } else if (m.prefix_match !== undefined) {
      const p = m.prefix_match;
      this.value = (v) => v.startsWith(p);
    } else if (m.suffix_match !== undefined) {
      const s = m.suffix_match;
      this.value = (v) => v.endsWith(s);
    } else if (m.contains_match !== undefined) {
      const c = m.contains_match;
      this.value = (v) => v.includes(c);
    } else if (m.string_match !== undefined) {
      this.value = compileStringMatcher(m.string_match, `${fieldPath}.string_match`);
    } else {
      // present_match, or no specifier at all (= header present).
      this.value = undefined;
      this.present = m.present_match !== false;
    }
  }

  private read(req: RequestView): string | undefined {
    switch (this.source) {
      case Source.Authority:
        return req.authority;
      case Source.Method:
        return req.method;
      case Source.Path:
        return req.path;
      default:
        return req.headers.get(this.name) ?? undefined;
    }
  }

  matches(req: RequestView): boolean {
    let v = this.read(req);
    if (v === undefined) {
      if (!this.treatMissingAsEmpty) {
        if (this.value !== undefined) return false;
        // present_match: absent matches iff present_match is false, then invert.
        return this.present ? this.invert : !this.invert;
      }
      v = '';
    }
    let result: boolean;
    const value = this.value;
    if (value === undefined) result = this.present;
    else {
      // Envoy 1.39 (match_headers_individually, on by default): a header sent as several entries
      // matches if one of them does; invert_match applies to that answer. Single entries (the
      // common case) ask the lookup once more and allocate nothing.
      const entries = this.source === Source.Header ? req.headers.repeatedValues?.(this.name) : undefined;
      if (entries === undefined) result = test(value, v);
      else {
        result = false;
        for (let i = 0; i < entries.length && !result; i++) result = test(value, entries[i]!);
      }
    }
    return this.invert ? !result : result;
  }
}

function test(value: CompiledStringMatcher | ((v: string) => boolean), v: string): boolean {
  return typeof value === 'function' ? value(v) : value.matches(v);
}
