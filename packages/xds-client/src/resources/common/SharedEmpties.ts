/**
 * The empty lists and maps that the one-pass wire decoders put in every model object without
 * items there (additional addresses, header mutations, per-filter config...). Models are
 * immutable (model.ts), so one frozen instance serves all of them, whatever NODE_ENV says: a
 * 100,000-endpoint push or a 10,000-route table otherwise allocates one per object.
 */
export const NO_ITEMS: readonly never[] = Object.freeze([]);
export const NO_ENTRIES: Readonly<Record<string, never>> = Object.freeze({});
