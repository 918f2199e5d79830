import type protobuf from 'protobufjs';
import { envoyRoot, strictReader, TO_OBJECT, type AnyMessage } from '../../proto/EnvoyProtos.js';
import type { ResourceType } from '../ResourceType.js';
import { ValidationError } from '../ValidationError.js';
import { freezeModel } from '../DeepFreeze.js';
import { structurallyEqual } from '../StructuralEquality.js';
import { isObj } from './ObjectReader.js';
import { LIMITS, overLimit } from '../Limits.js';

export interface ResourceTypeSpec<T> {
  readonly typeUrl: string;
  readonly shortName: ResourceType<T>['shortName'];
  readonly allResourcesRequiredInSotW: boolean;
  /** The resource's name field (`name` or `cluster_name`). */
  readonly nameField: string;
  /** Validates the object form into the model; throws ValidationError with a path relative to the resource. */
  readonly validate: (obj: Readonly<Record<string, unknown>>) => T;
  /**
   * Optional one-pass decoder for the type's common shape, straight from the encoded bytes to the
   * model. It returns undefined for anything outside that shape, or invalid, and the general
   * path (decode, toObject, validate) then runs and owns every error message.
   */
  readonly decodeWire?: (bytes: Uint8Array) => T | undefined;
  /** Model equality, when the type has a cheaper one than deep equality (default: structurallyEqual). */
  readonly equal?: (a: T, b: T) => boolean;
}

/**
 * The decode / fromObject / equal plumbing every resource type shares: type URL
 * check, protobuf decode, then validation, with every error carrying the
 * resource name so a NACK's error_detail points at resource and field.
 */
export function defineResourceType<T>(spec: ResourceTypeSpec<T>): ResourceType<T> {
  const protoName = spec.typeUrl.slice(spec.typeUrl.lastIndexOf('/') + 1);
  // Looked up once: a namespace walk per resource showed in a 20,000-resource push's profile.
  let protoType: protobuf.Type | undefined;
  const fromObject = (obj: Record<string, unknown>): { name: string; resource: T } => {
    if (!isObj(obj)) throw new ValidationError('', `expected a ${protoName} object`);
    const rawName = obj[spec.nameField];
    const name = typeof rawName === 'string' ? rawName : '';
    try {
      if (name === '') throw new ValidationError(spec.nameField, 'resource name is required');
      return { name, resource: freezeModel(spec.validate(obj)) };
    } catch (err) {
      if (err instanceof ValidationError) throw err.resourceName === undefined && name !== '' ? new ValidationError(err.fieldPath, err.reason, name) : err;
      // A bug in a validator must still surface as a rejection of this resource, not crash the client.
      throw new ValidationError('', `internal error while validating: ${(err as Error)?.message ?? String(err)}`, name || undefined);
    }
  };
  return {
    typeUrl: spec.typeUrl,
    shortName: spec.shortName,
    allResourcesRequiredInSotW: spec.allResourcesRequiredInSotW,
    decode(any: AnyMessage) {
      if (any.type_url !== spec.typeUrl) throw new ValidationError('type_url', `expected ${spec.typeUrl}, got ${any.type_url}`);
      if (any.value.length > LIMITS.MAX_RESOURCE_BYTES) throw new ValidationError('', overLimit(`encoded ${protoName}`, any.value.length, 'bytes', 'MAX_RESOURCE_BYTES'));
      const fast = spec.decodeWire?.(any.value);
      if (fast !== undefined) {
        const name = (fast as Record<string, unknown>)[spec.nameField];
        if (typeof name === 'string' && name !== '') return { name, resource: freezeModel(fast) };
      }
      let obj: Record<string, unknown>;
      try {
        const type = (protoType ??= envoyRoot().lookupType(protoName));
        obj = type.toObject(type.decode(strictReader(any.value)), TO_OBJECT) as Record<string, unknown>;
      } catch (err) {
        throw new ValidationError('', `malformed ${protoName}: ${(err as Error).message}`);
      }
      return fromObject(obj);
    },
    fromObject,
    equal: spec.equal ?? ((a, b) => structurallyEqual(a, b)),
  };
}
