import { ValidationError } from '@meshlet/xds-client';

/**
 * Reads the proto-shaped (snake_case object) Permission / Principal messages the model keeps as is:
 * exactly one oneof member must be set, and nested messages must be objects.
 */
export function onlyRuleKind(rule: unknown, fieldPath: string, what: string): [kind: string, value: unknown] {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) throw new ValidationError(fieldPath, `${what} must be an object`);
  const set = Object.entries(rule as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== null);
  if (set.length === 0) throw new ValidationError(fieldPath, `${what} has no rule set`);
  if (set.length > 1) throw new ValidationError(fieldPath, `${what} sets more than one rule: ${set.map(([k]) => k).join(', ')}`);
  return set[0]!;
}

export function asObject(v: unknown, fieldPath: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ValidationError(fieldPath, 'must be an object');
  return v as Record<string, unknown>;
}

/** A repeated field with envoy's `min_items: 1` (Permission.Set.rules, Principal.Set.ids, Policy lists). */
export function nonEmptyList(v: unknown, fieldPath: string): readonly unknown[] {
  if (!Array.isArray(v) || v.length === 0) throw new ValidationError(fieldPath, 'must contain at least one entry');
  return v;
}
