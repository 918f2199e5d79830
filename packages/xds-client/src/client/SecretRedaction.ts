import { envoyRoot, TO_OBJECT, typeNameOf, type AnyMessage } from '../proto/EnvoyProtos.js';

/** Field names whose values are secrets wherever they appear (SDS Secret, TLS contexts, auth filters). */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['private_key', 'password', 'pkcs12', 'session_ticket_keys', 'hmac_secret', 'client_secret', 'token', 'api_key']);
/** What a redacted DataSource holds, as Envoy's admin config_dump writes it. */
const REDACTED = { inline_string: '[redacted]' };

/**
 * The resource with every secret replaced, re-encoded: config dumps (and CSDS,
 * which serves them) must never hand out a private key an inline TLS context or
 * Secret carried. Nested Anys (transport_socket.typed_config, filter configs)
 * are redacted recursively; a resource with no secret comes back as the same
 * object. Debug path only: it decodes and re-encodes.
 */
export function redactSecrets(any: AnyMessage): AnyMessage {
  let type;
  try {
    type = envoyRoot().lookupType(typeNameOf(any.type_url));
  } catch {
    return any; // a type Meshlet has no proto for cannot be inspected: dumped as received
  }
  const obj = type.toObject(type.decode(any.value), TO_OBJECT) as Record<string, unknown>;
  if (!redactIn(obj)) return any;
  return { type_url: any.type_url, value: type.encode(type.fromObject(obj)).finish() };
}

/** Redacts in place; true when anything changed. */
function redactIn(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  if (Array.isArray(value)) {
    let changed = false;
    for (const v of value) changed = redactIn(v) || changed;
    return changed;
  }
  const obj = value as Record<string, unknown>;
  let changed = false;
  if (typeof obj['type_url'] === 'string' && obj['value'] instanceof Uint8Array) {
    const redacted = redactSecrets({ type_url: obj['type_url'], value: obj['value'] });
    if (redacted.value !== obj['value']) {
      obj['value'] = redacted.value;
      changed = true;
    }
    return changed;
  }
  for (const key of Object.keys(obj)) {
    if (SECRET_FIELDS.has(key) && obj[key] !== undefined) {
      obj[key] = typeof obj[key] === 'object' ? { ...REDACTED } : '[redacted]';
      changed = true;
    } else {
      changed = redactIn(obj[key]) || changed;
    }
  }
  return changed;
}
