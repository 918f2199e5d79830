/**
 * A SPIFFE ID (`spiffe://TRUST_DOMAIN/PATH`), validated per the SPIFFE ID spec: lower-case trust
 * domain of `[a-z0-9._-]`, no port or userinfo, path segments of `[A-Za-z0-9._-]` that are neither
 * empty nor `.`/`..`, no trailing slash, query or fragment. Istio workload ids have the path
 * `/ns/NAMESPACE/sa/SERVICE_ACCOUNT`.
 */
export class SpiffeId {
  private constructor(
    readonly trustDomain: string,
    /** '' or '/seg/seg...' */
    readonly path: string,
  ) {}

  static parse(uri: string): SpiffeId {
    const result = SpiffeId.parseOrReason(uri);
    if (typeof result === 'string') throw new SpiffeIdError(uri, result);
    return result;
  }

  /** undefined instead of throwing, for SAN lists that mix SPIFFE and other URIs. */
  static tryParse(uri: string): SpiffeId | undefined {
    const result = SpiffeId.parseOrReason(uri);
    return typeof result === 'string' ? undefined : result;
  }

  static fromParts(trustDomain: string, path: string): SpiffeId {
    return SpiffeId.parse(`spiffe://${trustDomain}${path}`);
  }

  /** The Istio workload identity `spiffe://TD/ns/NS/sa/SA`. */
  static forWorkload(trustDomain: string, namespace: string, serviceAccount: string): SpiffeId {
    return SpiffeId.fromParts(trustDomain, `/ns/${namespace}/sa/${serviceAccount}`);
  }

  /** Namespace of an Istio-shaped id (`/ns/NS/sa/SA`), else undefined. */
  get namespace(): string | undefined {
    return this.istioParts()?.[0];
  }

  get serviceAccount(): string | undefined {
    return this.istioParts()?.[1];
  }

  equals(other: SpiffeId): boolean {
    return this.trustDomain === other.trustDomain && this.path === other.path;
  }

  toString(): string {
    return `spiffe://${this.trustDomain}${this.path}`;
  }

  toJSON(): string {
    return this.toString();
  }

  private static parseOrReason(uri: string): SpiffeId | string {
    const parts = validateSpiffeId(uri);
    return typeof parts === 'string' ? parts : new SpiffeId(parts.trustDomain, parts.path);
  }

  private istioParts(): [string, string] | undefined {
    const segs = this.path.split('/');
    // ['', 'ns', NS, 'sa', SA]
    if (segs.length === 5 && segs[1] === 'ns' && segs[3] === 'sa') return [segs[2]!, segs[4]!];
    return undefined;
  }
}

export class SpiffeIdError extends Error {
  override readonly name = 'SpiffeIdError';
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid SPIFFE ID ${JSON.stringify(input)}: ${reason}`);
  }
}

const SCHEME = 'spiffe://';
// The SPIFFE spec caps the whole id at 2048 bytes and the trust domain at 255.
const MAX_ID_LENGTH = 2048;
const MAX_TRUST_DOMAIN_LENGTH = 255;
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const PATH_SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;

function validateSpiffeId(uri: string): { trustDomain: string; path: string } | string {
  if (uri.length === 0) return 'empty';
  if (Buffer.byteLength(uri) > MAX_ID_LENGTH) return `longer than ${MAX_ID_LENGTH} bytes`;
  if (!uri.startsWith(SCHEME)) return 'scheme must be "spiffe://" (lower case)';
  const rest = uri.slice(SCHEME.length);
  if (rest.includes('?')) return 'query is not allowed';
  if (rest.includes('#')) return 'fragment is not allowed';
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (trustDomain.length === 0) return 'trust domain is missing';
  if (trustDomain.includes('@')) return 'userinfo is not allowed';
  if (trustDomain.includes(':')) return 'port is not allowed';
  if (trustDomain.length > MAX_TRUST_DOMAIN_LENGTH) return `trust domain longer than ${MAX_TRUST_DOMAIN_LENGTH} characters`;
  if (!TRUST_DOMAIN_CHARS.test(trustDomain)) {
    return 'trust domain may only contain lower-case letters, digits, ".", "-" and "_"';
  }
  if (path !== '') {
    const segments = path.slice(1).split('/');
    for (const seg of segments) {
      if (seg === '') return path.endsWith('/') ? 'path has a trailing slash' : 'path has an empty segment';
      if (seg === '.' || seg === '..') return 'path has a "." or ".." segment';
      if (!PATH_SEGMENT_CHARS.test(seg)) return `path segment ${JSON.stringify(seg)} may only contain letters, digits, ".", "-" and "_"`;
    }
  }
  return { trustDomain, path };
}
