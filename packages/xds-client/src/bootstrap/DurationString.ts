/**
 * Parses a proto3 JSON Duration ("900s", "1.5s", "0.000000001s") into milliseconds.
 * Returns undefined for anything else, so callers can report the field path.
 */
export function parseDurationString(text: string): number | undefined {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[2]);
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  // proto3 Duration range is +-315,576,000,000 s.
  if (!Number.isSafeInteger(seconds) || seconds > 315_576_000_000) return undefined;
  const ms = seconds * 1000 + nanos / 1e6;
  return m[1] ? -ms : ms;
}
