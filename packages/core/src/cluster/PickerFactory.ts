import type { LoadBalancingPolicy } from '@meshlet/xds-client';
import type { HostPickerFactory } from './HostPicker.js';
import { LeastRequestPicker } from './LeastRequestPicker.js';
import { MaglevPicker } from './MaglevPicker.js';
import { PickFirstPicker } from './PickFirstPicker.js';
import { RandomPicker } from './RandomPicker.js';
import { RingHashPicker } from './RingHashPicker.js';
import { RoundRobinPicker } from './RoundRobinPicker.js';

/** Whether the policy places requests by their hash (then priorities are chosen by hash too, and locality weighting is not applied). */
export function isHashPolicy(policy: LoadBalancingPolicy): boolean {
  return policy.policy === 'RING_HASH' || policy.policy === 'MAGLEV';
}

/** The picker constructor for a cluster's resolved lb_policy. */
export function pickerFactoryFor(policy: LoadBalancingPolicy): HostPickerFactory {
  switch (policy.policy) {
    case 'ROUND_ROBIN':
      return (hosts, random) => new RoundRobinPicker(hosts, random);
    case 'LEAST_REQUEST':
      return (hosts) => new LeastRequestPicker(hosts, policy.choice_count);
    case 'RANDOM':
      return (hosts) => new RandomPicker(hosts);
    case 'RING_HASH':
      return (hosts) => new RingHashPicker(hosts, policy);
    case 'MAGLEV':
      return (hosts) => new MaglevPicker(hosts, policy.table_size);
    case 'PICK_FIRST':
      return (hosts, random) => new PickFirstPicker(hosts, random, policy.shuffle_address_list ?? false);
  }
}
