import { decodeAny, typeNameOf, type AnyMessage } from '../proto/EnvoyProtos.js';
import { ValidationError } from '../resources/ValidationError.js';

/** `envoy.config.route.v3.RouteConfiguration` -> `route_configuration`, as Envoy names kinds in NACKs. */
export function resourceKindOf(typeUrl: string): string {
  const simple = typeNameOf(typeUrl).split('.').pop() ?? typeUrl;
  return simple.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Best effort: the name inside an Any that failed validation, so the NACK can name it. */
export function peekResourceName(any: AnyMessage): string | undefined {
  try {
    const obj = decodeAny(any);
    const name = obj?.['name'] ?? obj?.['cluster_name'];
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One line of a NACK's error_detail: `cluster "foo": outlier_detection.interval: must be positive`.
 * Names the resource and the proto field path so the operator finds the bad field.
 */
export function rejectionMessage(typeUrl: string, name: string | undefined, error: unknown): string {
  const who = `${resourceKindOf(typeUrl)}${name !== undefined ? ` ${JSON.stringify(name)}` : ''}`;
  if (error instanceof ValidationError) return `${who}: ${error.fieldPath ? `${error.fieldPath}: ` : ''}${error.reason}`;
  return `${who}: ${error instanceof Error ? error.message : String(error)}`;
}
