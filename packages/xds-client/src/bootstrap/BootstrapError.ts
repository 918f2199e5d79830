/**
 * A bootstrap that cannot be used. The message always names where the bootstrap
 * came from (file path, environment variable, or "bootstrap object"), the JSON
 * field path that is wrong, and what is expected there, so an operator can fix
 * the file without reading Meshlet's source.
 */
export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
  constructor(
    /** `file /etc/istio/proxy/grpc-bootstrap.json (GRPC_XDS_BOOTSTRAP)`, `GRPC_XDS_BOOTSTRAP_CONFIG`, `bootstrap object`. */
    readonly source: string,
    /** JSON path of the offending field, e.g. `xds_servers[0].channel_creds`; empty for the document itself. */
    readonly fieldPath: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid xDS bootstrap from ${source}: ${fieldPath ? `${fieldPath}: ` : ''}${reason}`, options);
  }
}
