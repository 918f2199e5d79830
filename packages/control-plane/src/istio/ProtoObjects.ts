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

const emptyConfigs = new Map<string, ProtoObject>();

/** A google.protobuf.Any holding `typeName` built from a plain object. */
export function typedConfig(typeName: string, value: ProtoObject): ProtoObject {
  // Empty configs (router, fault filter, previous_hosts) repeat on every listener and route: encode once.
  const empty = Object.keys(value).length === 0;
  const cached = empty ? emptyConfigs.get(typeName) : undefined;
  if (cached) return { ...cached };
  const any = encodeAny(typeName, value);
  const out = { type_url: any.type_url, value: any.value };
  if (empty) emptyConfigs.set(typeName, out);
  return { ...out };
}

export const UINT32_MAX = 4_294_967_295;
