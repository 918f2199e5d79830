/**
 * Whether validated models are frozen. The model contract (model.ts) is immutability; freezing
 * enforces it loudly in development and tests, where a consumer that mutates a shared model
 * gets a TypeError. In production (NODE_ENV=production) models are not frozen: walking every
 * object of a 100,000-endpoint push cost about 5% of decode CPU, and the contract is the same.
 * Read once, at load.
 */
export const FREEZE_MODELS = process.env['NODE_ENV'] !== 'production';

/** Freezes a validated model and everything reachable from it (model.ts: "every model object is deep-frozen"). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  // Typed arrays cannot be frozen while they have elements; they are copied at decode time and never shared.
  if (ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  // Indexed and for-in walks, not Object.values: that allocated an array per model object, over
  // 500,000 of them for a 100,000-endpoint push. Models are plain objects and arrays, so for-in
  // sees exactly their own keys.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    const o = value as Record<string, unknown>;
    for (const k in o) deepFreeze(o[k]);
  }
  return value;
}

/**
 * For one-pass decoders that freeze as they build: freezes one new model object outside
 * production (see FREEZE_MODELS), its members being frozen already, so that freezeModel then
 * finds the whole model frozen at its root and does not walk it again.
 */
export function frozen<T extends object>(o: T): T {
  return FREEZE_MODELS ? Object.freeze(o) : o;
}

/** deepFreeze outside production (see FREEZE_MODELS); the model as it is in production. */
export function freezeModel<T>(value: T): T {
  return FREEZE_MODELS ? deepFreeze(value) : value;
}
