/**
 * Why an xDS resource (or a file of them) was rejected. `fieldPath` is the proto
 * field path inside the resource (`virtual_hosts[0].routes[2].match.safe_regex.regex`),
 * so the NACK's `error_detail` points at the exact field, as Envoy's do.
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly fieldPath: string,
    readonly reason: string,
    readonly resourceName?: string,
  ) {
    super(`${resourceName ? `${resourceName}: ` : ''}${fieldPath ? `${fieldPath}: ` : ''}${reason}`);
  }

  /** The same error, re-rooted under a parent field (used while walking nested messages). */
  under(parent: string, resourceName = this.resourceName): ValidationError {
    const path = this.fieldPath ? (this.fieldPath.startsWith('[') ? `${parent}${this.fieldPath}` : `${parent}.${this.fieldPath}`) : parent;
    return new ValidationError(path, this.reason, resourceName);
  }
}
