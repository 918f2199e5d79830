import { stat, readFile } from 'node:fs/promises';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './GrpcJs.js';
import type { CallCredsConfig } from '../bootstrap/Bootstrap.js';
import { ExponentialBackoff, type BackoffOptions } from './Backoff.js';

/** gRFC A97: treat the token as expired this long before its `exp` (clock skew, server processing). */
const EXPIRY_MARGIN_MS = 30_000;
/** gRFC A97: re-read when the cached token expires within this interval. */
const REFRESH_WINDOW_MS = 60_000;

export interface JwtTokenFileOptions {
  readonly now?: () => number;
  /** Delay between failed reads (gRPC connection-backoff defaults). */
  readonly backoff?: BackoffOptions;
}

/** A failed token load; `code` is the gRPC status the RPC ends with (grpc-js reads `code`). */
export class JwtTokenFileError extends Error {
  override readonly name = 'JwtTokenFileError';
  constructor(
    readonly code: grpc.status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface CachedToken {
  readonly token: string;
  /** `exp` minus the A97 margin, ms since the epoch. */
  readonly expiresAt: number;
  /** Identity of the file version the token came from: a rotated file has another. */
  readonly fileStamp: string;
}

/**
 * gRFC A97 JwtTokenFileCallCredentials: the JWT in a file, sent as `authorization: Bearer`.
 * Kubernetes rotates projected service-account tokens in place (an atomic symlink swap), so at
 * every RPC start the file is stat()ed (cheap: the ADS stream starts one RPC per connection) and
 * re-read when it changed, when nothing is cached, or when the cached token expires within a
 * minute. A failed read is backed off; an RPC that starts meanwhile with no usable token fails
 * with the last error. The token itself never appears in an error or a log line.
 */
export class JwtTokenFile {
  private cached: CachedToken | undefined;
  private lastError: JwtTokenFileError | undefined;
  private retryAt = 0;
  private inflight: Promise<string> | undefined;
  private readonly backoff: ExponentialBackoff;
  private readonly now: () => number;

  constructor(
    readonly path: string,
    options: JwtTokenFileOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.backoff = new ExponentialBackoff(options.backoff);
  }

  /** The token to send now; rejects with a JwtTokenFileError naming the file. */
  token(): Promise<string> {
    // One read at a time: RPCs that start while it runs share its outcome (A97's queued RPCs).
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<string> {
    const now = this.now();
    const cached = this.cached;
    const usable = cached !== undefined && cached.expiresAt > now;
    if (!usable && this.lastError && now < this.retryAt) throw this.lastError;
    let stamp: string;
    try {
      const s = await stat(this.path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (error) {
      return this.failed(usable, unreadable(this.path, error));
    }
    if (usable && cached.fileStamp === stamp && cached.expiresAt - now > REFRESH_WINDOW_MS) return cached.token;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      return this.failed(usable, unreadable(this.path, error));
    }
    const token = text.trim();
    const parsed = expiryOf(token, this.path);
    if (parsed instanceof JwtTokenFileError) return this.failed(usable, parsed);
    const expiresAt = parsed - EXPIRY_MARGIN_MS;
    if (expiresAt <= now) {
      return this.failed(usable, new JwtTokenFileError(grpcJs().status.UNAUTHENTICATED, `the JWT in ${this.path} expired at ${new Date(parsed).toISOString()} (the token file is not being refreshed)`));
    }
    this.cached = { token, expiresAt, fileStamp: stamp };
    this.lastError = undefined;
    this.backoff.reset();
    return token;
  }

  /** A failed refresh keeps a still-valid cached token in use; without one the RPC fails. */
  private failed(usable: boolean, error: JwtTokenFileError): string {
    this.lastError = error;
    this.retryAt = this.now() + this.backoff.next();
    if (usable) return this.cached!.token;
    throw error;
  }
}

function unreadable(path: string, error: unknown): JwtTokenFileError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  // UNAVAILABLE, as A97 specifies for a failed read: the file may appear (volume mount) later.
  return new JwtTokenFileError(grpcJs().status.UNAVAILABLE, `cannot read the JWT token file ${path} (${reason}); check call_creds jwt_token_file in the bootstrap`, { cause: error });
}

/** `exp` (ms since the epoch) of a compact JWS, without verifying it: the server does that. */
function expiryOf(token: string, path: string): number | JwtTokenFileError {
  const invalid = (why: string) => new JwtTokenFileError(grpcJs().status.UNAUTHENTICATED, `the JWT token file ${path} ${why}`);
  if (token === '') return invalid('is empty');
  const parts = token.split('.');
  if (parts.length !== 3) return invalid('does not hold a JWT (expected header.payload.signature)');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return invalid('holds a JWT whose payload is not JSON');
  }
  const exp = (claims as { exp?: unknown } | null)?.exp;
  // A97: a token whose exp cannot be read is invalid (it cannot be cached safely).
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return invalid('holds a JWT without a numeric "exp" claim');
  return exp * 1000;
}

/** grpc-js call credentials for one bootstrap `call_creds` entry. */
export function callCredentialsFor(config: CallCredsConfig, options: JwtTokenFileOptions = {}): grpc.CallCredentials {
  switch (config.type) {
    case 'jwt_token_file': {
      const file = new JwtTokenFile(config.config.jwt_token_file, options);
      return grpcJs().credentials.createFromMetadataGenerator((_params, callback) => {
        file.token().then(
          (token) => {
            const metadata = new (grpcJs().Metadata)();
            metadata.set('authorization', `Bearer ${token}`);
            callback(null, metadata);
          },
          (error: Error) => callback(error),
        );
      });
    }
  }
}
