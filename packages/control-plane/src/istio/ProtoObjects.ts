import { encodeAny } from '@meshlet/xds-client';

/**
 * Plain protobufjs object forms (snake_case, `Type.fromObject` input) of the
 * well-known and common Envoy types the translators emit. Nested typed configs
 * are encoded to `{ type_url, value }` Anys here, the same form a decoded
 * resource has, so the output encodes as-is and reads like istiod's.
 */
export type ProtoObject = Record<string, unknown>;

/** google.protobuf.Duration from nanoseconds. */
export function durationObject(ns: number): ProtoObject {
  const seconds = Math.floor(ns / 1e9);
  return { seconds, nanos: Math.round(ns - seconds * 1e9) };
}

/**
 * Istio's Percent (0-100, double) as envoy.type.v3.FractionalPercent: istiod scales
 * by 10000 onto a MILLION denominator, so 0.1% survives.
 */
export function fractionalPercent(percent: number): ProtoObject {
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

/**
 * google.protobuf.Struct with string values (labels). The shared root takes the
 * well-known types from protobufjs' bundled descriptors, whose Value fields are
 * camelCase (`stringValue`), unlike the keepCase Envoy types.
 */
export function stringStruct(values: Readonly<Record<string, string>>): ProtoObject {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) fields[k] = { stringValue: v };
  return { fields };
}

/** A google.protobuf.Any holding `typeName` built from a plain object. */
export function typedConfig(typeName: string, value: ProtoObject): ProtoObject {
  const any = encodeAny(typeName, value);
  return { type_url: any.type_url, value: any.value };
}

export const UINT32_MAX = 4_294_967_295;
