import type { SpecNode } from './SpecNode.js';
import type { ProtoObject } from './ProtoObjects.js';

/**
 * Istio `headers: {request, response}: {set, add, remove}` as Envoy header
 * mutations: `set` overwrites (OVERWRITE_IF_EXISTS_OR_ADD), `add` appends
 * (APPEND_IF_EXISTS_OR_ADD), `remove` removes. Returns only the fields that are
 * non-empty, ready to spread into a Route or ClusterWeight.
 */
export function translateHeaderOperations(node: SpecNode): ProtoObject {
  const out: ProtoObject = {};
  if (!node.present || !node.checkFields(['request', 'response'])) return out;
  for (const direction of ['request', 'response'] as const) {
    const ops = node.field(direction);
    if (!ops.present || !ops.checkFields(['set', 'add', 'remove'])) continue;
    const add: ProtoObject[] = [];
    for (const [verb, action] of [['set', 'OVERWRITE_IF_EXISTS_OR_ADD'], ['add', 'APPEND_IF_EXISTS_OR_ADD']] as const) {
      for (const [key, value] of ops.field(verb).entries()) {
        const v = value.string();
        if (!isHeaderName(key)) {
          value.error(`"${key}" is not a valid header name`, 'key');
          continue;
        }
        if (key.startsWith(':') || key.toLowerCase() === 'host') {
          value.error(`pseudo-headers and host cannot be set this way; use rewrite.authority`, 'key');
          continue;
        }
        if (v !== undefined) add.push({ header: { key: key.toLowerCase(), value: v }, append_action: action });
      }
    }
    const remove = ops.field('remove').strings().map((h) => h.toLowerCase());
    if (add.length > 0) out[`${direction}_headers_to_add`] = add;
    if (remove.length > 0) out[`${direction}_headers_to_remove`] = remove;
  }
  return out;
}

function isHeaderName(s: string): boolean {
  return /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s);
}

/** Concatenates two header-mutation objects (route-level and single-destination). */
export function mergeHeaderOperations(a: ProtoObject, b: ProtoObject): ProtoObject {
  const out: ProtoObject = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = [...((out[k] as unknown[]) ?? []), ...(v as unknown[])];
  return out;
}
