/**
 * One attempt's request headers, written in place in undici's flat form `[name, value, ...]`
 * (lower-case names, one entry per name, as RequestHeaders keeps them). The route's header
 * mutation and the attempt headers (x-request-id, trace context, host, x-envoy-*) edit the array
 * that is then dispatched, so an attempt costs one array, not a Map copy plus a flatten.
 * Lookups scan linearly: request header lists are short and an attempt does a handful of writes.
 *
 * The array is made with room for the headers the mesh adds (RequestHeaders.toFlat's `room`), and
 * `size` says how much of it is used until `done()` cuts it to that: pushed onto an empty list, the
 * mesh's three headers made V8 reserve 16 slots, more than twice what they need.
 */
export class AttemptHeaderList {
  private flat: string[];
  private size: number;

  constructor(flat: string[], size: number) {
    this.flat = flat;
    this.size = size;
  }

  /**
   * A list over `flat` whose first `size` entries are headers. An attempt edits its list only while it
   * builds its headers (until done()), so one list serves attempt after attempt: 40 bytes less per attempt.
   * A list still in use (an attempt built while another one's headers are, which nothing on the mesh's
   * path does) gets a new one.
   */
  static over(flat: string[], size: number): AttemptHeaderList {
    const list = spare;
    if (list === undefined) return new AttemptHeaderList(flat, size);
    spare = undefined;
    list.flat = flat;
    list.size = size;
    return list;
  }

  /**
   * The finished list, as long as its headers (the room left unused is cut off), for undici. The list
   * object is free for the next attempt from here on (see over()).
   */
  done(): string[] {
    const flat = this.flat;
    if (flat.length !== this.size) flat.length = this.size;
    this.flat = NO_HEADERS;
    this.size = 0;
    spare = this;
    return flat;
  }

  /**
   * `name` in lower case: names are almost always lower case already, and toLowerCase would copy them.
   * The names the mesh writes on every attempt are known to be, and are passed as literals, which V8
   * compares by identity: a few pointer comparisons instead of a scan of each character (the scans were
   * about 2% of the mesh's own CPU) or a Set lookup (about 15 ns each, four per attempt).
   */
  private static lower(name: string): string {
    switch (name) {
      case 'host':
      case 'x-request-id':
      case 'x-envoy-expected-rq-timeout-ms':
      case 'x-envoy-attempt-count':
      case 'x-envoy-original-path':
      case 'traceparent':
      case 'tracestate':
        return name;
    }
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if ((c >= 65 && c <= 90) || c > 127) return name.toLowerCase();
    }
    return name;
  }

  private indexOf(key: string): number {
    const flat = this.flat;
    for (let i = 0; i < this.size; i += 2) if (flat[i] === key) return i;
    return -1;
  }

  /** Writes a name and value after the last header (into the room left for them, or past it). */
  private add(key: string, value: string): void {
    const at = this.size;
    this.flat[at] = key;
    this.flat[at + 1] = value;
    this.size = at + 2;
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
    if (i < 0) this.add(key, value);
    else this.flat[i + 1] = value;
  }

  /** One more value for `name`, joined with ',' as RequestHeaders joins repeated headers. */
  append(name: string, value: string): void {
    const key = AttemptHeaderList.lower(name);
    const i = this.indexOf(key);
    if (i < 0) this.add(key, value);
    else this.flat[i + 1] = `${this.flat[i + 1]},${value}`;
  }

  delete(name: string): void {
    const i = this.indexOf(AttemptHeaderList.lower(name));
    if (i < 0) return;
    // Only the used part moves: the room after it stays room.
    this.flat.copyWithin(i, i + 2, this.size);
    this.size -= 2;
  }
}

/** What a list holds once done (its array is undici's then): frozen, so a write after done() throws. */
const NO_HEADERS = Object.freeze([]) as unknown as string[];

/** The list over() hands out next (done() returns it here). */
let spare: AttemptHeaderList | undefined;
