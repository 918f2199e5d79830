import type { HeaderLookup } from '../call/HeaderLookup.js';

/**
 * Read access to request headers: names are looked up lower-case; get() gives a repeated header's
 * entries joined with ',', and repeatedValues (when the transport keeps them apart) the entries, which
 * header matchers test one by one as Envoy 1.39 does; null or undefined = absent (so a fetch `Headers`
 * works as is). The one declaration is shared with the call engine so that the core barrel exports a
 * single HeaderLookup.
 */
export type { HeaderLookup };

/** What the router needs of a request. */
export interface RequestView {
  /** `:authority` (or HTTP/1 `Host`), possibly with a port. */
  readonly authority: string;
  /** `:path` as sent: path plus query (and, rarely, fragment). */
  readonly path: string;
  readonly method: string;
  readonly headers: HeaderLookup;
  /** content-type is application/grpc* (RouteMatch.grpc). */
  readonly isGrpc: boolean;
}

/**
 * Write access to headers for header mutations. The shape is a subset of the WHATWG `Headers`
 * class, so a `Headers` instance can be passed as is; grpc-js Metadata needs a small adapter.
 */
export interface MutableHeaders {
  has(name: string): boolean;
  set(name: string, value: string): void;
  /** Adds one more value for `name`, keeping existing ones. */
  append(name: string, value: string): void;
  delete(name: string): void;
}
