import { fromProto3Json, type ProtoJsonOptions } from '../proto/ProtoJson.js';
import type { ResourceType } from '../resources/ResourceType.js';
import { ValidationError } from '../resources/ValidationError.js';
import { resourceTypeFor } from '../resources/KnownResourceTypes.js';

export interface DecodedResource {
  readonly type: ResourceType<unknown>;
  readonly name: string;
  readonly resource: unknown;
  /** The validated proto object form (snake_case, Any as bytes): what a server encodes and sends. */
  readonly object: Record<string, unknown>;
}

/**
 * One resource in proto3 JSON (snake_case or lowerCamelCase) -> validated model.
 * `type` is required unless the JSON carries "@type". Errors are ValidationErrors
 * naming the resource (when its name is readable) and the field path.
 */
export function decodeResourceJson(json: unknown, type?: ResourceType<unknown>, options?: ProtoJsonOptions): DecodedResource {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ValidationError('', 'a resource must be an object');
  const { '@type': typeUrl, ...body } = json as Record<string, unknown>;
  let rt = type;
  if (typeUrl !== undefined) {
    if (typeof typeUrl !== 'string') throw new ValidationError('@type', 'expected a type URL string');
    rt = resourceTypeFor(typeUrl);
    if (!rt) throw new ValidationError('@type', `unsupported resource type ${typeUrl}`);
    if (type && rt !== type) throw new ValidationError('@type', `expected ${type.typeUrl}, got ${typeUrl}`);
  }
  if (!rt) throw new ValidationError('@type', 'resource type unknown: "@type" is missing');
  const rawName = body['name'] ?? body['cluster_name'] ?? body['clusterName'];
  const name = typeof rawName === 'string' ? rawName : undefined;
  let obj: Record<string, unknown>;
  try {
    obj = fromProto3Json(rt.typeUrl, body, options);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.fieldPath, err.reason, name);
    throw err;
  }
  const decoded = rt.fromObject(obj);
  return { type: rt, name: decoded.name, resource: decoded.resource, object: obj };
}
