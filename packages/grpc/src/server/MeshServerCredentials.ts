import { ServerCredentials } from '@grpc/grpc-js';

/**
 * Server credentials that take their security from the Listener (gRFC A29 / A36): connections on a
 * filter chain with a DownstreamTlsContext get the mTLS it describes, and connections on a chain
 * without one use `fallback` (typically `ServerCredentials.createInsecure()`, i.e. plaintext).
 * Passing any other ServerCredentials to MeshServer.bindAsync ignores the Listener's TLS config and
 * uses those credentials for every connection, as A36 specifies for non-xDS credentials.
 */
export class MeshServerCredentials extends ServerCredentials {
  constructor(readonly fallback: ServerCredentials) {
    super(null);
  }

  override _isSecure(): boolean {
    return this.fallback._isSecure();
  }

  _equals(other: ServerCredentials): boolean {
    return other instanceof MeshServerCredentials && other.fallback._equals(this.fallback);
  }
}
