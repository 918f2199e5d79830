/**
 * A google.protobuf.Duration in its proto3 JSON form (`"900s"`, `"0.250s"`) or as
 * `{ seconds, nanos }`, in milliseconds. Bootstrap JSON keeps plugin configs as raw JSON, so
 * durations in them arrive in this form.
 */
export function parseProtoJsonDuration(value: unknown, fieldPath: string): number {
  if (typeof value === 'string') {
    const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
    if (m === null) throw new Error(`${fieldPath}: invalid duration ${JSON.stringify(value)} (expected e.g. "600s")`);
    const ms = Number(m[2]) * 1000 + Number(`0.${m[3] ?? '0'}`) * 1000;
    return m[1] === '-' ? -ms : ms;
  }
  if (typeof value === 'object' && value !== null) {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    const s = Number(seconds ?? 0);
    const n = Number(nanos ?? 0);
    if (Number.isFinite(s) && Number.isFinite(n)) return s * 1000 + n / 1e6;
  }
  throw new Error(`${fieldPath}: invalid duration ${JSON.stringify(value)} (expected e.g. "600s")`);
}
