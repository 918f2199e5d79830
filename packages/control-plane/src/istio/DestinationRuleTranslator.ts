import type { MeshResource } from './MeshDocument.js';
import type { SpecNode } from './SpecNode.js';
import { readTrafficPolicy, EMPTY_POLICY, type TrafficPolicy } from './TrafficPolicy.js';

export interface Subset {
  readonly name: string;
  /** Endpoints whose labels include all of these belong to the subset. */
  readonly labels: Readonly<Record<string, string>>;
  readonly trafficPolicy: TrafficPolicy | undefined;
  readonly node: SpecNode;
}

/** A DestinationRule: the traffic policy and subsets of one host. */
export interface DestinationPolicy {
  readonly host: string;
  readonly trafficPolicy: TrafficPolicy;
  readonly subsets: readonly Subset[];
  readonly resource: MeshResource;
  readonly hostNode: SpecNode;
}

const SUBSET_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function readDestinationRule(res: MeshResource): DestinationPolicy | undefined {
  const spec = res.spec;
  spec.checkFields(['host', 'trafficPolicy', 'subsets'], {
    ignored: { exportTo: 'every process that loads mesh.yaml sees every rule' },
    unsupported: { workloadSelector: 'rules apply to every client in Meshlet; remove the selector' },
  });
  const hostNode = spec.required('host', 'the ServiceEntry host this rule applies to');
  const host = hostNode.string();
  const trafficPolicy = readTrafficPolicy(spec.field('trafficPolicy')) ?? EMPTY_POLICY;
  const subsets: Subset[] = [];
  const seen = new Set<string>();
  for (const s of spec.field('subsets').items()) {
    if (!s.checkFields(['name', 'labels', 'trafficPolicy'])) continue;
    const nameNode = s.required('name');
    const name = nameNode.string();
    if (name === undefined) continue;
    // The subset name becomes part of the cluster name `outbound|PORT|SUBSET|HOST`, so '|' would corrupt it.
    if (!SUBSET_NAME.test(name)) {
      nameNode.error(`subset name "${name}" must be letters, digits, '-', '_' or '.'`);
      continue;
    }
    if (seen.has(name)) nameNode.error(`subset "${name}" is defined twice`);
    seen.add(name);
    const labels = s.field('labels').stringMap() ?? {};
    subsets.push({ name, labels, trafficPolicy: readTrafficPolicy(s.field('trafficPolicy')), node: s });
  }
  if (host === undefined) return undefined;
  return { host, trafficPolicy, subsets, resource: res, hostNode };
}
