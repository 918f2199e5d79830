/**
 * Read access to request or response headers, whatever the transport keeps them in
 * (undici raw arrays, fetch Headers, grpc-js Metadata). Names are looked up
 * lower-case; multiple values come back joined with "," as HTTP allows.
 * Structurally the same as routing's HeaderLookup so one object serves both.
 */
export interface HeaderLookup {
  get(name: string): string | null | undefined;
}

/** Source of uniform randoms in [0, 1); injectable so tests are deterministic. */
export type Random = () => number;
