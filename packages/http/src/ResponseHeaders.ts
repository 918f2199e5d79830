import type { IncomingHttpHeaders } from 'node:http';

/**
 * undici's response header object seen through the engine's HeaderLookup and
 * the router's MutableHeaders (response_headers_to_add/remove), without copying
 * until a mutation actually happens.
 */
export class ResponseHeaders {
  constructor(public headers: IncomingHttpHeaders) {}

  get(name: string): string | undefined {
    const v = this.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  }

  has(name: string): boolean {
    return this.headers[name.toLowerCase()] !== undefined;
  }

  set(name: string, value: string): void {
    this.own();
    this.headers[name.toLowerCase()] = value;
  }

  append(name: string, value: string): void {
    this.own();
    const key = name.toLowerCase();
    const prev = this.headers[key];
    if (prev === undefined) this.headers[key] = value;
    else this.headers[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }

  delete(name: string): void {
    this.own();
    delete this.headers[name.toLowerCase()];
  }

  private owned = false;
  private own(): void {
    if (!this.owned) {
      this.headers = { ...this.headers };
      this.owned = true;
    }
  }
}
