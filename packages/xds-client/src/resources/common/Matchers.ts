import { re2Problem } from './Re2.js';
import type { FractionalPercent, HeaderMatcher, HeaderValueOption, RegexMatcher, StringMatcher } from '../model.js';
import { checkStringBytes } from '../Limits.js';
import { asObj, at, compact, fail, list, optBool, optBytes, optEnum, optObj, optStr, optUint, str, toNumber, type Obj } from './ObjectReader.js';

/** envoy.type.matcher.v3.RegexMatcher: the pattern must compile as RE2 (Envoy NACKs otherwise, gRFC A28). */
export function regexMatcher(v: unknown, path: string): RegexMatcher {
  const o = asObj(v, path);
  const regex = optStr(o, 'regex', path);
  if (regex === undefined) fail(at(path, 'regex'), 'regex is required');
  checkStringBytes(regex, at(path, 'regex'), 'the regex', 'MAX_REGEX_BYTES');
  const problem = re2Problem(regex);
  if (problem !== '') fail(at(path, 'regex'), `invalid RE2 regex: ${problem}`);
  return { regex };
}

export function optRegexMatcher(o: Obj, key: string, path: string): RegexMatcher | undefined {
  const v = optObj(o, key, path);
  return v ? regexMatcher(v, at(path, key)) : undefined;
}

/** envoy.type.matcher.v3.StringMatcher: exactly one match_pattern. */
export function stringMatcher(v: unknown, path: string): StringMatcher {
  const o = asObj(v, path);
  const m: { -readonly [K in keyof StringMatcher]: StringMatcher[K] } = {
    exact: optStr(o, 'exact', path),
    prefix: optStr(o, 'prefix', path),
    suffix: optStr(o, 'suffix', path),
    contains: optStr(o, 'contains', path),
    safe_regex: optRegexMatcher(o, 'safe_regex', path),
    ignore_case: optBool(o, 'ignore_case', path),
  };
  if (o['custom'] !== undefined) fail(at(path, 'custom'), 'custom string matchers are not supported');
  const set = [m.exact, m.prefix, m.suffix, m.contains, m.safe_regex].filter((x) => x !== undefined).length;
  if (set !== 1) fail(path, 'exactly one of exact, prefix, suffix, contains, safe_regex is required');
  // PGV: prefix / suffix / contains have min_len 1.
  for (const k of ['prefix', 'suffix', 'contains'] as const) if (m[k] === '') fail(at(path, k), 'must not be empty');
  for (const k of ['exact', 'prefix', 'suffix', 'contains'] as const) if (m[k] !== undefined) checkStringBytes(m[k], at(path, k), 'the string', 'MAX_MATCH_STRING_BYTES');
  return compact(m);
}

/** envoy.config.route.v3.HeaderMatcher (gRFC A28). */
export function headerMatcher(v: unknown, path: string): HeaderMatcher {
  const o = asObj(v, path);
  const name = str(o, 'name', path);
  if (name === '') fail(at(path, 'name'), 'header name is required');
  checkStringBytes(name, at(path, 'name'), 'the header name', 'MAX_HEADER_NAME_BYTES');
  const rm = optObj(o, 'range_match', path);
  let range_match: HeaderMatcher['range_match'];
  if (rm) {
    const start = toNumber(rm['start'] ?? 0, at(at(path, 'range_match'), 'start'));
    const end = toNumber(rm['end'] ?? 0, at(at(path, 'range_match'), 'end'));
    if (end < start) fail(at(path, 'range_match'), 'range end must not be below start');
    range_match = { start, end };
  }
  const sm = optObj(o, 'string_match', path);
  const m: { -readonly [K in keyof HeaderMatcher]: HeaderMatcher[K] } = {
    name,
    exact_match: optStr(o, 'exact_match', path),
    safe_regex_match: optRegexMatcher(o, 'safe_regex_match', path),
    range_match,
    present_match: optBool(o, 'present_match', path),
    prefix_match: optStr(o, 'prefix_match', path),
    suffix_match: optStr(o, 'suffix_match', path),
    contains_match: optStr(o, 'contains_match', path),
    string_match: sm ? stringMatcher(sm, at(path, 'string_match')) : undefined,
    invert_match: optBool(o, 'invert_match', path) ?? false,
    treat_missing_header_as_empty: optBool(o, 'treat_missing_header_as_empty', path),
  };
  const set = [m.exact_match, m.safe_regex_match, m.range_match, m.present_match, m.prefix_match, m.suffix_match, m.contains_match, m.string_match].filter(
    (x) => x !== undefined,
  ).length;
  if (set > 1) fail(path, 'at most one header_match_specifier may be set');
  for (const k of ['exact_match', 'prefix_match', 'suffix_match', 'contains_match'] as const) {
    if (m[k] !== undefined) checkStringBytes(m[k], at(path, k), 'the string', 'MAX_MATCH_STRING_BYTES');
  }
  return compact(m);
}

const DENOMINATORS = ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] as const;

/** envoy.type.v3.FractionalPercent; the denominator defaults to HUNDRED. */
export function fractionalPercent(v: unknown, path: string): FractionalPercent {
  const o = asObj(v, path);
  return {
    numerator: optUint(o, 'numerator', path) ?? 0,
    denominator: optEnum(o, 'denominator', path, DENOMINATORS) ?? 'HUNDRED',
  };
}

const APPEND_ACTIONS = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'] as const;
const HEADER_NAME = /^[^\0\r\n]+$/;

/** envoy.config.core.v3.HeaderValueOption; the deprecated `append` is folded into append_action. */
export function headerValueOption(v: unknown, path: string): HeaderValueOption {
  const o = asObj(v, path);
  const h = optObj(o, 'header', path);
  if (!h) fail(at(path, 'header'), 'header is required');
  const hp = at(path, 'header');
  const key = str(h, 'key', hp);
  if (!HEADER_NAME.test(key)) fail(at(hp, 'key'), 'header key must be a non-empty valid header name');
  checkStringBytes(key, at(hp, 'key'), 'the header name', 'MAX_HEADER_NAME_BYTES');
  const raw = optBytes(h, 'raw_value', hp);
  const value = raw && raw.length > 0 ? Buffer.from(raw).toString('utf8') : str(h, 'value', hp);
  checkStringBytes(value, at(hp, raw && raw.length > 0 ? 'raw_value' : 'value'), 'the header value', 'MAX_HEADER_VALUE_BYTES');
  const appendObj = optObj(o, 'append', path);
  const explicitAction = optEnum(o, 'append_action', path, APPEND_ACTIONS);
  // Envoy rejects setting both; `append` (BoolValue, default true) maps to APPEND_IF_EXISTS_OR_ADD / OVERWRITE_IF_EXISTS_OR_ADD.
  if (appendObj && explicitAction !== undefined && explicitAction !== 'APPEND_IF_EXISTS_OR_ADD') {
    fail(path, 'append and append_action are mutually exclusive');
  }
  let append_action = explicitAction ?? 'APPEND_IF_EXISTS_OR_ADD';
  if (appendObj) append_action = appendObj['value'] === true ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
  return compact({ header: { key, value }, append_action, keep_empty_value: optBool(o, 'keep_empty_value', path) });
}

export function headerValueOptions(o: Obj, key: string, path: string): readonly HeaderValueOption[] {
  return list(o, key, path).map((v, i) => headerValueOption(v, at(at(path, key), i)));
}

export function headerNames(o: Obj, key: string, path: string): readonly string[] {
  return list(o, key, path).map((v, i) => {
    if (typeof v !== 'string' || v === '') fail(at(at(path, key), i), 'expected a header name');
    checkStringBytes(v, at(at(path, key), i), 'the header name', 'MAX_HEADER_NAME_BYTES');
    return v;
  });
}
