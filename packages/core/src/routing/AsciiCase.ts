/**
 * ASCII-only case folding, as Envoy does it (absl::AsciiStrToLower): `ignore_case` and
 * `case_sensitive: false` fold A-Z only, never other scripts. The comparisons work in place so that
 * case-insensitive matching does not allocate a lower-cased copy per request.
 */

const UPPER_A = 65;
const UPPER_Z = 90;

function foldCode(code: number): number {
  return code >= UPPER_A && code <= UPPER_Z ? code + 32 : code;
}

const HAS_ASCII_UPPER = /[A-Z]/;
const ASCII_UPPER_RUNS = /[A-Z]+/g;

/**
 * Lower-cases A-Z only (at compile time, on config patterns and domains). Most config strings have no
 * upper case and are returned as they are: a 10,000-route push made and kept a character-by-character
 * copy of every prefix. (`toLowerCase` of a run of A-Z is that run in a-z: nothing else is touched.)
 */
export function asciiLower(value: string): string {
  return HAS_ASCII_UPPER.test(value) ? value.replace(ASCII_UPPER_RUNS, lowerRun) : value;
}

function lowerRun(run: string): string {
  return run.toLowerCase();
}

/** Whether `value[offset, offset + lowerPattern.length)` equals `lowerPattern` ignoring ASCII case; `lowerPattern` must already be folded. */
export function regionEqualsIgnoreCase(value: string, offset: number, lowerPattern: string): boolean {
  if (offset < 0 || offset + lowerPattern.length > value.length) return false;
  for (let i = 0; i < lowerPattern.length; i++) {
    if (foldCode(value.charCodeAt(offset + i)) !== lowerPattern.charCodeAt(i)) return false;
  }
  return true;
}

/** First index of `lowerPattern` in `value[0, end)` ignoring ASCII case, or -1. */
export function indexOfIgnoreCase(value: string, lowerPattern: string, end = value.length): number {
  const last = end - lowerPattern.length;
  for (let i = 0; i <= last; i++) {
    if (regionEqualsIgnoreCase(value, i, lowerPattern)) return i;
  }
  return -1;
}
