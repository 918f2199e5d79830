import type { LoadBalancingPolicy } from '../model.js';
import { anyValue, decodeKnown, typeName } from '../common/TypedExtensions.js';
import { asObj, at, fail, list, optBool, optEnum, optObj, optWrappedUint, type Obj } from '../common/ObjectReader.js';

/** gRFC A42 / Envoy: ring sizes are capped at 8M entries. */
const MAX_RING_SIZE = 8_388_608;
const DEFAULT_MIN_RING = 1024;
const DEFAULT_LEAST_REQUEST_CHOICES = 2;
const DEFAULT_MAGLEV_TABLE = 65537;
/** Envoy: Maglev table_size must be prime and at most 5000011. */
const MAX_MAGLEV_TABLE = 5_000_011;

export interface ResolvedLbPolicy {
  readonly policy: LoadBalancingPolicy;
  /** True when the typed policy was wrr_locality (gRFC A52): locality weights apply. */
  readonly locality_weighted: boolean;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}

function ringHash(minimum: number | undefined, maximum: number | undefined, hash: string | undefined, path: string): LoadBalancingPolicy {
  const min = minimum ?? DEFAULT_MIN_RING;
  const max = maximum ?? MAX_RING_SIZE;
  if (min > MAX_RING_SIZE) fail(at(path, 'minimum_ring_size'), `must be at most ${MAX_RING_SIZE}`);
  if (max > MAX_RING_SIZE) fail(at(path, 'maximum_ring_size'), `must be at most ${MAX_RING_SIZE}`);
  if (min > max) fail(path, 'minimum_ring_size must not exceed maximum_ring_size');
  return { policy: 'RING_HASH', minimum_ring_size: min, maximum_ring_size: max, hash_function: hash === 'MURMUR_HASH_2' ? 'MURMUR_HASH_2' : 'XX_HASH' };
}

function leastRequest(choices: number | undefined, path: string): LoadBalancingPolicy {
  const choice_count = choices ?? DEFAULT_LEAST_REQUEST_CHOICES;
  if (choice_count < 2) fail(at(path, 'choice_count'), 'choice_count must be at least 2');
  return { policy: 'LEAST_REQUEST', choice_count };
}

function maglev(size: number | undefined, path: string): LoadBalancingPolicy {
  const table_size = size ?? DEFAULT_MAGLEV_TABLE;
  if (table_size > MAX_MAGLEV_TABLE || !isPrime(table_size)) fail(at(path, 'table_size'), 'table_size must be a prime number at most 5000011');
  return { policy: 'MAGLEV', table_size };
}

/**
 * Cluster.load_balancing_policy (typed, gRFC A52): the first policy Meshlet
 * supports wins; when none is supported the cluster is rejected.
 */
function typedPolicy(lbp: Obj, path: string): ResolvedLbPolicy {
  const policies = list(lbp, 'policies', path);
  const pp = at(path, 'policies');
  const unsupported: string[] = [];
  for (let i = 0; i < policies.length; i++) {
    const p = at(pp, i);
    const entry = asObj(policies[i], p);
    const tec = optObj(entry, 'typed_extension_config', p);
    if (!tec || tec['typed_config'] === undefined) fail(at(p, 'typed_extension_config'), 'typed_extension_config.typed_config is required');
    const tp = at(at(p, 'typed_extension_config'), 'typed_config');
    const any = anyValue(tec['typed_config'], tp);
    const cfg = decodeKnown(any, tp);
    const resolved = cfg ? policyFromTyped(typeName(any), cfg, tp) : undefined;
    if (resolved) return resolved;
    unsupported.push(typeName(any));
  }
  fail(pp, unsupported.length ? `no supported LB policy (got ${unsupported.join(', ')})` : 'no LB policy given');
}

function policyFromTyped(name: string, cfg: Obj, path: string): ResolvedLbPolicy | undefined {
  const base = 'envoy.extensions.load_balancing_policies.';
  switch (name) {
    case `${base}round_robin.v3.RoundRobin`:
      return { policy: { policy: 'ROUND_ROBIN' }, locality_weighted: false };
    case `${base}random.v3.Random`:
      return { policy: { policy: 'RANDOM' }, locality_weighted: false };
    case `${base}pick_first.v3.PickFirst`: {
      const shuffle = optBool(cfg, 'shuffle_address_list', path);
      return { policy: shuffle === undefined ? { policy: 'PICK_FIRST' } : { policy: 'PICK_FIRST', shuffle_address_list: shuffle }, locality_weighted: false };
    }
    case `${base}least_request.v3.LeastRequest`:
      return { policy: leastRequest(optWrappedUint(cfg, 'choice_count', path), path), locality_weighted: false };
    case `${base}ring_hash.v3.RingHash`: {
      const hash = optEnum(cfg, 'hash_function', path, ['DEFAULT_HASH', 'XX_HASH', 'MURMUR_HASH_2'] as const);
      return { policy: ringHash(optWrappedUint(cfg, 'minimum_ring_size', path), optWrappedUint(cfg, 'maximum_ring_size', path), hash, path), locality_weighted: false };
    }
    case `${base}maglev.v3.Maglev`:
      return { policy: maglev(optWrappedUint(cfg, 'table_size', path), path), locality_weighted: false };
    case `${base}wrr_locality.v3.WrrLocality`: {
      const inner = optObj(cfg, 'endpoint_picking_policy', path);
      if (!inner) fail(at(path, 'endpoint_picking_policy'), 'endpoint_picking_policy is required');
      return { policy: typedPolicy(inner, at(path, 'endpoint_picking_policy')).policy, locality_weighted: true };
    }
    default:
      return undefined;
  }
}

const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'] as const;

/** Resolves Cluster.lb_policy (+ its *_lb_config) or, when set, the typed Cluster.load_balancing_policy. */
export function resolveLbPolicy(o: Obj, path: string): ResolvedLbPolicy {
  const typed = optObj(o, 'load_balancing_policy', path);
  if (typed) return typedPolicy(typed, at(path, 'load_balancing_policy'));
  const lb = optEnum(o, 'lb_policy', path, LB_POLICIES) ?? 'ROUND_ROBIN';
  switch (lb) {
    case 'ROUND_ROBIN':
      return { policy: { policy: 'ROUND_ROBIN' }, locality_weighted: false };
    case 'RANDOM':
      return { policy: { policy: 'RANDOM' }, locality_weighted: false };
    case 'LEAST_REQUEST': {
      const c = optObj(o, 'least_request_lb_config', path) ?? {};
      return { policy: leastRequest(optWrappedUint(c, 'choice_count', at(path, 'least_request_lb_config')), at(path, 'least_request_lb_config')), locality_weighted: false };
    }
    case 'RING_HASH': {
      const c = optObj(o, 'ring_hash_lb_config', path) ?? {};
      const cp = at(path, 'ring_hash_lb_config');
      const hash = optEnum(c, 'hash_function', cp, ['XX_HASH', 'MURMUR_HASH_2'] as const);
      return { policy: ringHash(optWrappedUint(c, 'minimum_ring_size', cp), optWrappedUint(c, 'maximum_ring_size', cp), hash, cp), locality_weighted: false };
    }
    case 'MAGLEV': {
      const c = optObj(o, 'maglev_lb_config', path) ?? {};
      return { policy: maglev(optWrappedUint(c, 'table_size', at(path, 'maglev_lb_config')), at(path, 'maglev_lb_config')), locality_weighted: false };
    }
    case 'CLUSTER_PROVIDED':
      // Only meaningful for ORIGINAL_DST clusters, which need a proxy's intercepted original destination.
      fail(at(path, 'lb_policy'), 'CLUSTER_PROVIDED is not supported (in-process clients have no original destination)');
    // eslint-disable-next-line no-fallthrough
    case 'LOAD_BALANCING_POLICY_CONFIG':
      fail(at(path, 'load_balancing_policy'), 'lb_policy is LOAD_BALANCING_POLICY_CONFIG but load_balancing_policy is not set');
  }
}
