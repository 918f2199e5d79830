/**
 * Istio's CRDs take google.protobuf.Duration written as Go durations
 * (`500ms`, `1.5s`, `1m30s`, `1h`); proto3 JSON only has seconds (`1.5s`).
 * Both are accepted. Returns nanoseconds, or undefined when the text is not a duration.
 */
const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export function parseIstioDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}
