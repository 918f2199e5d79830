import { ValidationError } from '@meshlet/xds-client';
import type { RE2, RE2ExecArray } from 're2-wasm';

/*
 * RE2::GlobalReplace with re2-wasm, bounded so that a long input cannot hold the event loop. Done
 * here rather than with RE2#replace: re2-wasm's global replace never advances past an empty match
 * (`x*` never returns, on any input).
 *
 * re2-wasm is far slower than native RE2 (bench/regex-rewrite.mjs): every search copies its whole
 * input into WASM memory (about 6 ns a character) and costs some 10 us besides, and a search that
 * starts at lastIndex N first walks N characters (about 70 ns each). A global replace is one search
 * per match, so `/+` -> `/` on a 60 KiB path of 8-character segments (6,827 matches) took 17 s of
 * CPU, and 280 to 380 ms on 8 KiB. Hence the bound on searches, and searches that start near the
 * beginning of their input (see re2GlobalReplace): at 128 searches on 8 KiB a replace measured 3 to
 * 14 ms of CPU on a 2-core machine at load 8 to 9.
 */

/**
 * The most RE2 searches (about one per match) one replace makes: 128 replace every slash of an
 * 8 KiB path of 64-character segments, far more matches than real rewrites have.
 */
export const MAX_RE2_REPLACE_SEARCHES = 128;

/** A substitution compiled into literal pieces and capture-group numbers (RE2 rewrite syntax: `\0`-`\9`, `\\`). */
export type Re2Substitution = readonly (string | number)[];

export function compileRe2Substitution(substitution: string, fieldPath: string): Re2Substitution {
  const pieces: (string | number)[] = [];
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

function substitute(pieces: Re2Substitution, m: RE2ExecArray): string {
  let out = '';
  for (const p of pieces) {
    if (typeof p === 'string') out += p;
    else out += m[p] ?? '';
  }
  return out;
}

/**
 * Every non-overlapping match of `re` (compiled with the g flag) in `text` replaced as
 * RE2::GlobalReplace does: an empty match right after the previous match is not replaced, and
 * after an empty match one character (a surrogate pair whole) is copied and the search resumes
 * after it. Throws a RangeError naming `fieldPath` past MAX_RE2_REPLACE_SEARCHES searches, or for
 * an unpaired surrogate in `text`.
 *
 * Each search after the first is handed the rest of `text` from one character before where it
 * resumes, with lastIndex past that character, not the whole text with lastIndex far into it.
 * RE2 has no lookbehind, so what a match starting at position p depends on before p is only
 * whether p is the start of the text (`^`, `\A`) and the character before p (`\b`, `\B`,
 * `(?m)^`); keeping that character and starting past 0 keeps both, so every pattern finds the same
 * matches as on the whole text.
 */
export function re2GlobalReplace(re: RE2, text: string, substitution: Re2Substitution, fieldPath: string): string {
  // re2-wasm counts lastIndex and match indices in code points: UTF-16 offsets unless the text has
  // a surrogate pair (never in ASCII), when they are converted. It miscounts around an unpaired
  // surrogate (not text, and not a character a URL can carry): such a text is refused.
  const surrogates = surrogatesIn(text);
  if (surrogates === Surrogates.Unpaired) throw new RangeError(`${fieldPath}: the input has an unpaired UTF-16 surrogate`);
  const wide = surrogates === Surrogates.Paired;
  let out = '';
  let copied = 0;
  let lastEnd = -1; // where the previous replaced match ended
  let searches = 0;
  while (copied <= text.length) {
    if (++searches > MAX_RE2_REPLACE_SEARCHES) {
      throw new RangeError(`${fieldPath}: the pattern needs more than ${MAX_RE2_REPLACE_SEARCHES} RE2 searches (about one per match) on this input, the most one replace makes`);
    }
    // The text from the character before `copied` (one code point, a pair whole), searched from after it.
    const back = copied === 0 ? 0 : wide && copied >= 2 && charLength(text, copied - 2) === 2 ? 2 : 1;
    const base = copied - back;
    const rest = base === 0 ? text : text.slice(base);
    re.lastIndex = back === 0 ? 0 : 1;
    const m = re.exec(rest);
    if (m === null) break;
    const start = base + (wide ? utf16Offset(rest, m.index) : m.index);
    const stop = start + m[0]!.length;
    out += text.slice(copied, start);
    if (stop > start || start !== lastEnd) {
      out += substitute(substitution, m);
      lastEnd = stop;
      if (stop > start) {
        copied = stop;
        continue;
      }
    }
    if (start >= text.length) {
      copied = text.length;
      break;
    }
    // Empty match: keep the next character (a surrogate pair whole) and search after it.
    const step = charLength(text, start);
    out += text.slice(start, start + step);
    copied = start + step;
  }
  re.lastIndex = 0;
  return out + text.slice(copied);
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
