import type { RequestView } from './RequestView.js';

/**
 * Per-request state shared by all the routes tried for one request: where the path part ends, the
 * lazily parsed query string and the lazily drawn random value. One instance is reused per RouteTable
 * (matching is synchronous), so trying N routes costs no allocation unless a route needs the query.
 */
export class RouteMatchContext {
  req!: RequestView;
  /** Index in req.path where the query (`?`) or fragment (`#`) starts, or path.length. */
  pathEnd = 0;
  private random: () => number = Math.random;
  private randomValue = -1;
  private query: Map<string, string> | undefined;
  /** Set while a match is in progress, so a re-entrant match gets a fresh context. */
  busy = false;

  reset(req: RequestView, random: () => number): void {
    this.req = req;
    this.random = random;
    this.randomValue = -1;
    this.query = undefined;
    const path = req.path;
    let end = path.length;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c === 63 /* ? */ || c === 35 /* # */) {
        end = i;
        break;
      }
    }
    this.pathEnd = end;
  }

  /** Drops references to the finished request so the reused context does not keep it alive. */
  release(): void {
    this.req = undefined as unknown as RequestView;
    this.query = undefined;
    this.random = Math.random;
    this.busy = false;
  }

  /** One random draw per request, in [0,1), shared by every runtime_fraction tried (as Envoy's stream random value is). */
  randomFraction(): number {
    if (this.randomValue < 0) {
      const r = this.random();
      this.randomValue = r >= 0 && r < 1 ? r : 0;
    }
    return this.randomValue;
  }

  /**
   * The first value of a query parameter, percent-decoded (Envoy parseAndDecodeQueryString +
   * getFirstValue). A key without `=` has the value ''. Undefined when absent.
   */
  queryParam(name: string): string | undefined {
    if (this.query === undefined) this.query = parseQuery(this.req.path, this.pathEnd);
    return this.query.get(name);
  }

  /** The path without query and fragment (allocates only when a query is present). */
  pathPart(): string {
    const path = this.req.path;
    return this.pathEnd === path.length ? path : path.slice(0, this.pathEnd);
  }
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes are matched as sent
  }
}

export function parseQuery(path: string, pathEnd: number): Map<string, string> {
  const params = new Map<string, string>();
  if (pathEnd >= path.length || path.charCodeAt(pathEnd) !== 63 /* ? */) return params;
  let end = path.indexOf('#', pathEnd);
  if (end < 0) end = path.length;
  let start = pathEnd + 1;
  while (start <= end) {
    let amp = path.indexOf('&', start);
    if (amp < 0 || amp > end) amp = end;
    if (amp > start) {
      const eq = path.indexOf('=', start);
      const hasValue = eq >= 0 && eq < amp;
      const key = decode(path.slice(start, hasValue ? eq : amp));
      if (!params.has(key)) params.set(key, hasValue ? decode(path.slice(eq + 1, amp)) : '');
    }
    start = amp + 1;
  }
  return params;
}
