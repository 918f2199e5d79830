/**
 * Read access to request or response headers, whatever the transport keeps them in
 * (undici raw arrays, fetch Headers, grpc-js Metadata). Names are looked up
 * lower-case; multiple values come back joined with "," as HTTP allows.
 * Structurally the same as routing's HeaderLookup so one object serves both.
 */
export interface HeaderLookup {
  get(name: string): string | null | undefined;
  /**
   * The values of a header that arrived as more than one entry, each as sent; undefined when it
   * arrived once. Envoy 1.39 matches such entries one by one (HeaderMatcher); a transport that
   * cannot keep them apart leaves this out, and matchers see get()'s joined value.
   */
  repeatedValues?(name: string): readonly string[] | undefined;
}

/** Source of uniform randoms in [0, 1); injectable so tests are deterministic. */
export type Random = () => number;
