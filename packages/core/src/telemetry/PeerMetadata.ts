import { envoyRoot } from '@meshlet/xds-client';

/** Who this workload is, in the terms Istio's node metadata uses. */
export interface WorkloadIdentity {
  /** Pod (instance) name. */
  readonly name: string;
  readonly namespace: string;
  /** Deployment (workload) name; Istio's source_workload. */
  readonly workloadName: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Istio's node id (`sidecar~IP~pod.ns~ns.svc.cluster.local`); built from the others when absent. */
  readonly nodeId?: string;
  readonly instanceIp?: string;
  readonly serviceAccount?: string;
  readonly clusterId?: string;
  readonly meshId?: string;
  /** e.g. `kubernetes://apis/apps/v1/namespaces/NS/deployments/NAME`. */
  readonly owner?: string;
}

/** The two headers Istio's HTTP metadata exchange sends upstream. */
export interface PeerMetadataHeaders {
  readonly 'x-envoy-peer-metadata-id': string;
  readonly 'x-envoy-peer-metadata': string;
}

/**
 * Istio's HTTP metadata exchange headers for this workload, computed once (they never change
 * for a process). `x-envoy-peer-metadata` is the base64 of a serialized google.protobuf.Struct
 * keyed by Istio's node metadata names (NAME, NAMESPACE, LABELS, WORKLOAD_NAME, ...), which is
 * what a sidecar on the server side decodes to fill the source_* labels of its metrics.
 */
export function istioPeerMetadataHeaders(workload: WorkloadIdentity): PeerMetadataHeaders {
  const fields: Record<string, unknown> = {
    NAME: str(workload.name),
    NAMESPACE: str(workload.namespace),
    WORKLOAD_NAME: str(workload.workloadName),
    LABELS: { [valueField('struct')]: { fields: Object.fromEntries(Object.entries(workload.labels ?? {}).map(([k, v]) => [k, str(v)])) } },
  };
  if (workload.instanceIp !== undefined) fields['INSTANCE_IPS'] = str(workload.instanceIp);
  if (workload.serviceAccount !== undefined) fields['SERVICE_ACCOUNT'] = str(workload.serviceAccount);
  if (workload.clusterId !== undefined) fields['CLUSTER_ID'] = str(workload.clusterId);
  if (workload.meshId !== undefined) fields['MESH_ID'] = str(workload.meshId);
  if (workload.owner !== undefined) fields['OWNER'] = str(workload.owner);
  const Struct = envoyRoot().lookupType('google.protobuf.Struct');
  const bytes = Struct.encode(Struct.fromObject({ fields })).finish();
  const nodeId =
    workload.nodeId ?? `sidecar~${workload.instanceIp ?? '127.0.0.1'}~${workload.name}.${workload.namespace}~${workload.namespace}.svc.cluster.local`;
  return { 'x-envoy-peer-metadata-id': nodeId, 'x-envoy-peer-metadata': Buffer.from(bytes).toString('base64') };
}

function str(value: string): Record<string, string> {
  return { [valueField('string')]: value };
}

/**
 * google.protobuf.Value's field name as loaded: protobufjs bundles the well-known types with
 * camelCase names (`stringValue`) whatever `keepCase` says, so ask the type rather than guess.
 */
function valueField(kind: 'string' | 'struct'): string {
  const fields = envoyRoot().lookupType('google.protobuf.Value').fields;
  const snake = `${kind}_value`;
  return snake in fields ? snake : `${kind}Value`;
}
