import { decodeAny, SECRET_FIELDS, type ClientConfigDump } from '@meshlet/xds-client';
const REDACTED = '[redacted]';

/**
 * The config dump as JSON-safe objects with every Any decoded (recursively, so TLS contexts
 * inside transport_socket.typed_config are reached) and secret material replaced: a debug
 * endpoint must never hand out a private key that an inline Secret or TLS context carried.
 */
export function redactedConfigDump(dump: ClientConfigDump): Record<string, unknown> {
  return {
    node: toJson(dump.node),
    generic_xds_configs: dump.generic_xds_configs.map((c) => toJson(c)),
  };
}

function toJson(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (typeof obj['type_url'] === 'string' && obj['value'] instanceof Uint8Array) {
    const decoded = decodeAny({ type_url: obj['type_url'], value: obj['value'] });
    // An Any of a type Meshlet has not loaded stays opaque: its size, never its bytes.
    return decoded === undefined ? { '@type': obj['type_url'], bytes: obj['value'].length } : { '@type': obj['type_url'], ...(toJson(decoded) as object) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = SECRET_FIELDS.has(k) ? REDACTED : toJson(v);
  return out;
}
