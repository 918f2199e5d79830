import type { ClientConfigDump, XdsClient } from '@meshlet/xds-client';
import type { Mesh } from '../mesh/Mesh.js';
import { redactedConfigDump } from './ConfigDumpRedaction.js';
import { meshClusters } from './MeshClusters.js';

export interface EndpointDebug {
  readonly address: string;
  readonly health_status: string;
  readonly ejected: boolean;
  readonly active_requests: number;
  readonly weight: number;
  readonly priority: number;
  readonly locality: { region: string; zone: string; sub_zone: string };
}

export interface ClusterDebug {
  readonly endpoints: readonly EndpointDebug[];
  readonly circuit_breakers: Readonly<Record<string, number>>;
  readonly outlier_detection: boolean;
}

export interface NackDebug {
  readonly type_url: string;
  readonly name: string;
  /** The version that was rejected. */
  readonly rejected_version: string;
  /** The version still in use. */
  readonly version_in_use: string;
  readonly details: string;
  readonly at: string;
}

export interface MeshDebugSnapshot {
  readonly generated_at: string;
  readonly targets: Readonly<Record<string, string>>;
  readonly clusters: Readonly<Record<string, ClusterDebug>>;
  readonly recent_nacks: readonly NackDebug[];
  /** CSDS-shaped, Anys decoded, secrets redacted; absent without an XdsClient. */
  readonly config_dump?: Record<string, unknown>;
}

/**
 * A JSON view of what this process's mesh is doing: target states, every cluster's endpoints
 * (health, ejection, in-flight requests) and breaker overflow counts, the resources currently
 * NACKed, and the config dump. Meant for humans and support bundles, not for machines to poll.
 */
export function meshDebugSnapshot(mesh: Mesh, xdsClient?: Pick<XdsClient, 'configDump'>): MeshDebugSnapshot {
  const clusters: Record<string, ClusterDebug> = {};
  for (const [name, runtime] of meshClusters(mesh)) {
    clusters[name] = {
      endpoints: runtime.hosts().map((h) => ({
        address: h.key,
        health_status: h.healthStatus,
        ejected: h.isEjected(),
        active_requests: h.activeRequests,
        weight: h.weight,
        priority: h.priority,
        locality: { region: h.locality.region, zone: h.locality.zone, sub_zone: h.locality.sub_zone },
      })),
      circuit_breakers: { ...runtime.overflowStats() },
      outlier_detection: runtime.outlier !== undefined,
    };
  }
  const dump = xdsClient?.configDump();
  return {
    generated_at: new Date().toISOString(),
    targets: mesh.debugState().targets,
    clusters,
    recent_nacks: dump === undefined ? [] : nacksOf(dump),
    ...(dump === undefined ? {} : { config_dump: redactedConfigDump(dump) }),
  };
}

/** Resources whose last update was rejected (error_state), newest first. */
function nacksOf(dump: ClientConfigDump): NackDebug[] {
  const out: (NackDebug & { ms: number })[] = [];
  for (const c of dump.generic_xds_configs) {
    const e = c.error_state;
    if (e === undefined) continue;
    const ms = e.last_update_attempt.seconds * 1000 + Math.floor(e.last_update_attempt.nanos / 1e6);
    out.push({ type_url: c.type_url, name: c.name, rejected_version: e.version_info, version_in_use: c.version_info, details: e.details, at: new Date(ms).toISOString(), ms });
  }
  return out.sort((a, b) => b.ms - a.ms).map(({ ms: _ms, ...n }) => n);
}
