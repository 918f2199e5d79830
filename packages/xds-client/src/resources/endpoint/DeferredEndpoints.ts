import type { ClusterLoadAssignment, LocalityLbEndpoints } from '../model.js';
import { frozen } from '../DeepFreeze.js';
import { structurallyEqual } from '../StructuralEquality.js';

/** Where a deferred assignment keeps its bytes and, once read, its endpoints (not enumerable: not part of the model). */
const STATE = Symbol('deferred endpoints');

/** Reads the endpoints of checked ClusterLoadAssignment bytes (the one-pass decoder, building). */
export type EndpointsReader = (bytes: Uint8Array) => readonly LocalityLbEndpoints[];

class DeferredState {
  endpoints: readonly LocalityLbEndpoints[] | undefined = undefined;

  constructor(
    readonly bytes: Uint8Array,
    private readonly read: EndpointsReader,
  ) {}

  get(): readonly LocalityLbEndpoints[] {
    return (this.endpoints ??= this.read(this.bytes));
  }
}

interface Deferred {
  readonly [STATE]: DeferredState;
}

/**
 * `endpoints`, read from the bytes at first access. One getter shared by every deferred
 * assignment (a getter per object would also give each its own hidden class).
 */
const ENDPOINTS: PropertyDescriptor = {
  enumerable: true,
  configurable: false,
  get(this: Deferred): readonly LocalityLbEndpoints[] {
    return this[STATE].get();
  },
};

/**
 * A ClusterLoadAssignment whose `endpoints` are built from its checked bytes when first read.
 *
 * An EDS push of 10,000 clusters carries 100,000 endpoints, three model objects each, which every
 * scavenge until promotion copies; the mesh reads a cluster's endpoints only when it first picks
 * from that cluster (ClusterRuntime turns them into Hosts then), and a process routes to few of
 * the clusters it is told about. So the one-pass decoder checks all of the bytes at once (every
 * rejection still happens at decode, with the general path's message) and this object defers
 * building what it checked.
 *
 * To any reader it is the model: a plain object with own enumerable `cluster_name`, `endpoints`
 * and `policy` in that order (Object.keys, spread, JSON and deep equality see the same as for a
 * built one), frozen outside production, and `endpoints` is the same frozen array at every read.
 * The bytes must not change afterwards; the XdsClient keeps them anyway as the resource's raw form.
 */
export function deferredAssignment(clusterName: string, policy: ClusterLoadAssignment['policy'], bytes: Uint8Array, read: EndpointsReader): ClusterLoadAssignment {
  // Built from an empty literal, which has room for four fields in the object itself: the three
  // data fields fit there (the accessor takes none), so there is no separate property array.
  const o = {} as { cluster_name: string; endpoints: readonly LocalityLbEndpoints[]; policy: ClusterLoadAssignment['policy'] };
  o.cluster_name = clusterName;
  Object.defineProperty(o, 'endpoints', ENDPOINTS);
  o.policy = policy;
  Object.defineProperty(o, STATE, { value: new DeferredState(bytes, read) });
  return frozen(o);
}

/**
 * Whether two assignments are equal, reading endpoints only when it must: two deferred ones from
 * the same bytes are equal without building either (the usual case of an unchanged resource
 * sent again); otherwise deep equality, which builds them.
 */
export function assignmentsEqual(a: ClusterLoadAssignment, b: ClusterLoadAssignment): boolean {
  const sa = (a as Partial<Deferred>)[STATE];
  const sb = (b as Partial<Deferred>)[STATE];
  if (sa !== undefined && sb !== undefined && structurallyEqual(sa.bytes, sb.bytes)) return true;
  return structurallyEqual(a, b);
}

/**
 * Whether `value` is a deferred assignment. Its bytes passed the one-pass decoder, which takes
 * addresses, weights, health and localities only (no metadata, no extensions): a walk looking for
 * secrets or other embedded config has nothing to find in it, and need not build its endpoints.
 */
export function isDeferredAssignment(value: object): boolean {
  return (value as Partial<Deferred>)[STATE] !== undefined;
}

/** Whether an assignment's endpoints have been built (for tests: a deferred one not yet read has not). */
export function endpointsBuilt(cla: ClusterLoadAssignment): boolean {
  const s = (cla as Partial<Deferred>)[STATE];
  return s === undefined || s.endpoints !== undefined;
}
