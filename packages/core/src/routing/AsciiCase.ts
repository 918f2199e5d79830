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

/** Lower-cases A-Z only (used once, at compile time, on config patterns). */
export function asciiLower(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) out += String.fromCharCode(foldCode(value.charCodeAt(i)));
  return out;
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
