import { LEN, VARINT, giveUp, lengthEnd, string, varint, type Cursor, type ObjectForm } from './WireCursor.js';

/**
 * Wire readers of the matcher messages routes carry (HeaderMatcher, StringMatcher, RegexMatcher)
 * into the object form protobufjs's toObject gives for them, for the one-pass RDS decoder, which
 * hands that object to the general path's validator (Matchers.ts) rather than checking it twice.
 * Only the fields Meshlet reads are taken; anything else (range_match, a custom matcher,
 * google_re2, unknown fields, a message field set twice) gives up, and the general path decodes
 * the resource.
 */

/** envoy.type.matcher.v3.RegexMatcher: regex (2); google_re2 (1) gives up. */
export function regexMatcherObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    if (varint(r) !== ((2 << 3) | LEN)) giveUp();
    o['regex'] = string(r, end);
  }
  if (r.pos !== end) giveUp();
  return o;
}

/** envoy.type.matcher.v3.StringMatcher: exact (1), prefix (2), suffix (3), safe_regex (5), ignore_case (6), contains (7). */
export function stringMatcherObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) o['exact'] = string(r, end);
    else if (tag === ((2 << 3) | LEN)) o['prefix'] = string(r, end);
    else if (tag === ((3 << 3) | LEN)) o['suffix'] = string(r, end);
    else if (tag === ((7 << 3) | LEN)) o['contains'] = string(r, end);
    else if (tag === ((5 << 3) | LEN) && o['safe_regex'] === undefined) o['safe_regex'] = regexMatcherObject(r, lengthEnd(r, end));
    else if (tag === ((6 << 3) | VARINT)) o['ignore_case'] = varint(r) !== 0;
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}

/**
 * envoy.config.route.v3.HeaderMatcher: name (1), exact_match (4), present_match (7),
 * invert_match (8), prefix_match (9), suffix_match (10), safe_regex_match (11), contains_match
 * (12), string_match (13), treat_missing_header_as_empty (14); range_match (6) gives up.
 */
export function headerMatcherObject(r: Cursor, end: number): ObjectForm {
  const o: ObjectForm = {};
  while (r.pos < end) {
    const tag = varint(r);
    if (tag === ((1 << 3) | LEN)) o['name'] = string(r, end);
    else if (tag === ((4 << 3) | LEN)) o['exact_match'] = string(r, end);
    else if (tag === ((9 << 3) | LEN)) o['prefix_match'] = string(r, end);
    else if (tag === ((10 << 3) | LEN)) o['suffix_match'] = string(r, end);
    else if (tag === ((12 << 3) | LEN)) o['contains_match'] = string(r, end);
    else if (tag === ((7 << 3) | VARINT)) o['present_match'] = varint(r) !== 0;
    else if (tag === ((8 << 3) | VARINT)) o['invert_match'] = varint(r) !== 0;
    else if (tag === ((14 << 3) | VARINT)) o['treat_missing_header_as_empty'] = varint(r) !== 0;
    else if (tag === ((11 << 3) | LEN) && o['safe_regex_match'] === undefined) o['safe_regex_match'] = regexMatcherObject(r, lengthEnd(r, end));
    else if (tag === ((13 << 3) | LEN) && o['string_match'] === undefined) o['string_match'] = stringMatcherObject(r, lengthEnd(r, end));
    else giveUp();
  }
  if (r.pos !== end) giveUp();
  return o;
}
