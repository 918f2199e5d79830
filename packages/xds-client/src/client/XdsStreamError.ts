/**
 * What a watcher still waiting for its first resource hears when the ADS stream fails: transient (the
 * client reconnects, and a fallback server may answer), unlike a rejected (NACKed) update, which is
 * about a resource the server did send. Consumers that act on a rejection (core resolves a never-served
 * cluster or target as missing) tell the two apart with `XdsStreamError.is`.
 */
export class XdsStreamError extends Error {
  override readonly name = 'XdsStreamError';

  constructor(server: string, cause: Error) {
    super(`xDS stream to ${server} failed: ${cause.message}`, { cause });
  }

  /** By name, so that it holds across two copies of this package in one process. */
  static is(error: unknown): error is XdsStreamError {
    return error instanceof Error && error.name === 'XdsStreamError';
  }
}
