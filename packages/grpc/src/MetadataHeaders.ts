import type { Metadata } from '@grpc/grpc-js';
import type { HeaderLookup, MutableHeaders } from '@meshlet/core/client';

/** What a header view reads and writes: grpc-js Metadata, or one attempt's writes to it (AttemptMetadata). */
export type MetadataStore = Pick<Metadata, 'get' | 'set' | 'add' | 'remove'>;

/** Response metadata and header mutation views have no pseudo-headers (one shared object, not one per view). */
const NO_PSEUDO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * grpc-js Metadata seen as request headers, for route matching, hash policies and
 * header mutations. gRFC A28: header matchers never see `-bin` metadata, and
 * `content-type` reads as `application/grpc` (grpc-js sets it on the wire itself).
 * Pseudo-headers are answered from the RequestView, not stored in Metadata.
 */
export class MetadataHeaders implements HeaderLookup, MutableHeaders {
  constructor(
    readonly metadata: MetadataStore,
    private readonly pseudo: Readonly<Record<string, string>> = NO_PSEUDO_HEADERS,
  ) {}

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (key.startsWith(':')) return this.pseudo[key] ?? null;
    return metadataHeader(this.metadata, key);
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  set(name: string, value: string): void {
    if (!writable(name)) return;
    this.metadata.set(name.toLowerCase(), value);
  }

  append(name: string, value: string): void {
    if (!writable(name)) return;
    this.metadata.add(name.toLowerCase(), value);
  }

  delete(name: string): void {
    if (!writable(name)) return;
    this.metadata.remove(name.toLowerCase());
  }
}

/**
 * Route header mutations may name headers grpc-js owns (pseudo-headers, content-type,
 * te, grpc-*) or binary ones; those are left alone, as gRFC A28 leaves them to the transport.
 */
function writable(name: string): boolean {
  const key = name.toLowerCase();
  return !key.startsWith(':') && !key.startsWith('grpc-') && !key.endsWith('-bin') && key !== 'content-type' && key !== 'te' && key !== 'host' && /^[0-9a-z_.-]+$/.test(key);
}

/**
 * The value of the header `key` (lower-case, not a pseudo-header) as route matchers see `metadata`:
 * `content-type` is `application/grpc`, `-bin` keys are absent, several values are joined with ','.
 */
export function metadataHeader(metadata: MetadataStore, key: string): string | null {
  if (key === 'content-type') return 'application/grpc';
  if (key.endsWith('-bin')) return null;
  const values = metadata.get(key);
  if (values.length === 0) return null;
  return values.map(String).join(',');
}
