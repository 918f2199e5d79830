import type { IncomingHttpHeaders } from 'node:http';
import { util } from 'undici';

/** undici's raw header list: [name, value, ...], Buffers as read (a repeated header's value may be a list). */
export type RawHeaderList = ReadonlyArray<Buffer | string | ReadonlyArray<Buffer | string>>;

/**
 * undici's response headers seen through the engine's HeaderLookup and the
 * router's MutableHeaders (response_headers_to_add/remove). Made from the raw
 * list an upstream sent, it answers lookups by scanning that list and parses it
 * into an object only when the object is asked for or a mutation happens: the
 * retry policy's checks (x-envoy-overloaded, grpc-status...) on every response
 * cost no parse. Made from an object, it copies only on the first mutation.
 */
export class ResponseHeaders {
  private parsed: IncomingHttpHeaders | undefined;
  private raw: RawHeaderList | undefined;
  private owned = false;

  constructor(headers: IncomingHttpHeaders | undefined, raw?: RawHeaderList) {
    this.parsed = headers;
    this.raw = headers === undefined ? raw : undefined;
  }

  /** The headers as undici's object form (parsed from the raw list on first use). */
  get headers(): IncomingHttpHeaders {
    if (this.parsed === undefined) {
      this.parsed = util.parseHeaders(this.raw as Buffer[]);
      this.raw = undefined;
      this.owned = true; // a fresh object: ours to change
    }
    return this.parsed;
  }

  /** `name` in lower case, as the engine's lookups pass it. Repeated headers are joined with ','. */
  get(name: string): string | undefined {
    const raw = this.raw;
    if (raw !== undefined) return rawValue(raw, name);
    const v = this.parsed![name];
    return Array.isArray(v) ? v.join(',') : v;
  }

  /**
   * HeaderLookup: the entries of a header the upstream sent more than once, each as sent; undefined
   * when it came once. Envoy 1.39 matches such entries one by one (retriable_headers included); only
   * header matchers ask, so the common path never scans for it.
   */
  repeatedValues(name: string): readonly string[] | undefined {
    const raw = this.raw;
    if (raw !== undefined) return rawEntries(raw, name);
    const v = this.parsed![name];
    return Array.isArray(v) && v.length > 1 ? v : undefined;
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.raw !== undefined ? rawValue(this.raw, key) !== undefined : this.parsed![key] !== undefined;
  }

  set(name: string, value: string): void {
    this.own()[name.toLowerCase()] = value;
  }

  append(name: string, value: string): void {
    const headers = this.own();
    const key = name.toLowerCase();
    const prev = headers[key];
    if (prev === undefined) headers[key] = value;
    else headers[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }

  delete(name: string): void {
    delete this.own()[name.toLowerCase()];
  }

  private own(): IncomingHttpHeaders {
    const headers = this.headers;
    if (this.owned) return headers;
    this.owned = true;
    return (this.parsed = { ...headers });
  }
}

/**
 * The value of header `name` (lower case) in a raw list, repeated values joined with ',': as
 * parseHeaders then get() would give, without building the object.
 */
export function rawValue(raw: RawHeaderList, name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!isName(raw[i] as Buffer | string, name)) continue;
    const v = raw[i + 1]!;
    const s = typeof v === 'string' ? v : Array.isArray(v) ? v.map(latin1).join(',') : (v as Buffer).toString('latin1');
    out = out === undefined ? s : `${out},${s}`;
  }
  return out;
}

/** The entries of header `name` (lower case) in a raw list when there are two or more, else undefined. */
export function rawEntries(raw: RawHeaderList, name: string): string[] | undefined {
  let out: string[] | undefined;
  let first: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!isName(raw[i] as Buffer | string, name)) continue;
    const v = raw[i + 1]!;
    const values = Array.isArray(v) ? v.map(latin1) : [latin1(v as Buffer | string)];
    for (const s of values) {
      if (first === undefined) first = s;
      else (out ??= [first]).push(s);
    }
  }
  return out;
}

/** Whether a raw list's key is `name` (lower case). Most names differ in length: one comparison. */
function isName(key: Buffer | string, name: string): boolean {
  if (key.length !== name.length) return false;
  return (typeof key === 'string' ? key : key.toString('latin1')).toLowerCase() === name;
}

function latin1(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}
