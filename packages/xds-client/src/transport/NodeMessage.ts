import { createRequire } from 'node:module';
import type { NodeConfig } from '../bootstrap/Bootstrap.js';
import { STRUCT_VALUE_FIELDS as V } from '../proto/StructValueFields.js';

/**
 * Client features Meshlet honours (envoy.config.core.v3.Node.client_features). Not
 * `envoy.lb.does_not_support_overprovisioning`, which gRPC sends: Meshlet applies a CLA's
 * overprovisioning_factor (default 140) to priority spill-over as Envoy does (core PriorityLoad), so a
 * control plane must not compensate for a client that ignores it.
 */
export const CLIENT_FEATURES = [
  // SotW responses may wrap resources in envoy.service.discovery.v3.Resource.
  'xds.config.resource-in-sotw',
] as const;

export const USER_AGENT_NAME = 'meshlet';

let version: string | undefined;

/** This package's version, read from its package.json (same relative path from src/ and dist/). */
export function userAgentVersion(): string {
  if (version !== undefined) return version;
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    version = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    version = '0.0.0';
  }
  return version;
}

/** A JSON value as google.protobuf.Value in protobufjs object form. */
function toValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { [V.null]: 'NULL_VALUE' };
  if (typeof v === 'number') return { [V.number]: v };
  if (typeof v === 'string') return { [V.string]: v };
  if (typeof v === 'boolean') return { [V.bool]: v };
  if (Array.isArray(v)) return { [V.list]: { values: v.map(toValue) } };
  return { [V.struct]: toStruct(v as Record<string, unknown>) };
}

/** JSON object -> google.protobuf.Struct object form (protobufjs has no JSON mapping for Struct). */
export function toStruct(obj: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toValue(v);
  return { fields };
}

/** The envoy.config.core.v3.Node sent on the first request of every ADS stream. */
export function nodeMessage(node: NodeConfig, extraClientFeatures: readonly string[] = []): Record<string, unknown> {
  return {
    id: node.id,
    cluster: node.cluster,
    ...(node.locality ? { locality: { ...node.locality } } : {}),
    ...(node.metadata ? { metadata: toStruct(node.metadata) } : {}),
    user_agent_name: USER_AGENT_NAME,
    user_agent_version: userAgentVersion(),
    client_features: [...CLIENT_FEATURES, ...extraClientFeatures],
  };
}
