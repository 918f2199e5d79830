import { decodeAny, lookupMessage, typeNameOf } from '../../proto/EnvoyProtos.js';
import type { OpaqueExtension } from '../model.js';
import { asObj, at, fail, optBytes, type Obj } from './ObjectReader.js';

export interface AnyValue {
  readonly type_url: string;
  readonly value: Uint8Array;
}

const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

/** A google.protobuf.Any in object form; `required` makes absence an error. */
export function anyValue(v: unknown, path: string): AnyValue {
  const o = asObj(v, path);
  const type_url = o['type_url'];
  if (typeof type_url !== 'string' || type_url === '') fail(at(path, 'type_url'), 'typed config needs a type URL');
  return { type_url, value: optBytes(o, 'value', path) ?? new Uint8Array() };
}

/** The fully qualified proto name of an Any. */
export function typeName(any: AnyValue): string {
  return typeNameOf(any.type_url);
}

/**
 * Decodes an Any Meshlet has a proto for into object form; undefined when the
 * type is unknown (the caller keeps it opaque). Malformed bytes of a known type
 * are a ValidationError: a control plane sending them is broken.
 */
export function decodeKnown(any: AnyValue, path: string): Obj | undefined {
  if (!lookupMessage(any.type_url)) return undefined;
  try {
    return decodeAny(any);
  } catch (err) {
    fail(path, `malformed ${typeName(any)}: ${(err as Error).message}`);
  }
}

/** Keeps an extension Meshlet does not interpret; TypedStruct wrappers record their inner type URL. */
export function opaque(any: AnyValue): OpaqueExtension {
  let inner_type_url: string | undefined;
  if (TYPED_STRUCTS.has(typeName(any))) {
    try {
      const ts = decodeAny(any);
      if (ts && typeof ts['type_url'] === 'string') inner_type_url = ts['type_url'];
    } catch {
      // A malformed TypedStruct stays opaque without an inner type.
    }
  }
  // Copy: the bytes may be a view into a larger response buffer we must not retain or freeze.
  const value = Uint8Array.from(any.value);
  return inner_type_url === undefined ? { kind: 'opaque', type_url: any.type_url, value } : { kind: 'opaque', type_url: any.type_url, inner_type_url, value };
}
