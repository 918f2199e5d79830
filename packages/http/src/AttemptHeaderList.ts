/** The lower-case names Meshlet writes itself on every attempt (see AttemptHeaderList.lower). */
const MESH_HEADER_NAMES: ReadonlySet<string> = new Set(['host', 'x-request-id', 'x-envoy-expected-rq-timeout-ms', 'x-envoy-attempt-count', 'traceparent', 'tracestate']);

/**
 * One attempt's request headers, written in place in undici's flat form `[name, value, ...]`
 * (lower-case names, one entry per name, as RequestHeaders keeps them). The route's header
 * mutation and the attempt headers (x-request-id, trace context, host, x-envoy-*) edit the array
 * that is then dispatched, so an attempt costs one array, not a Map copy plus a flatten.
 * Lookups scan linearly: request header lists are short and an attempt does a handful of writes.
 */
export class AttemptHeaderList {
  constructor(readonly flat: string[]) {}

  /**
   * `name` in lower case: names are almost always lower case already, and toLowerCase would copy them.
   * The names the mesh writes on every attempt are known to be: one Set lookup (their hashes are
   * cached) instead of a scan of each character (the scans were about 2% of the mesh's own CPU).
   */
  private static lower(name: string): string {
    if (MESH_HEADER_NAMES.has(name)) return name;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if ((c >= 65 && c <= 90) || c > 127) return name.toLowerCase();
    }
    return name;
  }

  private indexOf(key: string): number {
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === key) return i;
    return -1;
  }

  get(name: string): string | undefined {
    const i = this.indexOf(AttemptHeaderList.lower(name));
    return i < 0 ? undefined : this.flat[i + 1];
  }

  has(name: string): boolean {
    return this.indexOf(AttemptHeaderList.lower(name)) >= 0;
  }

  set(name: string, value: string): void {
    const key = AttemptHeaderList.lower(name);
    const i = this.indexOf(key);
    if (i < 0) this.flat.push(key, value);
    else this.flat[i + 1] = value;
  }

  /** One more value for `name`, joined with ',' as RequestHeaders joins repeated headers. */
  append(name: string, value: string): void {
    const key = AttemptHeaderList.lower(name);
    const i = this.indexOf(key);
    if (i < 0) this.flat.push(key, value);
    else this.flat[i + 1] = `${this.flat[i + 1]},${value}`;
  }

  delete(name: string): void {
    const i = this.indexOf(AttemptHeaderList.lower(name));
    if (i >= 0) this.flat.splice(i, 2);
  }
}
