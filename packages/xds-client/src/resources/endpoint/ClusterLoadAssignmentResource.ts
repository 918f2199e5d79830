import type { ClusterLoadAssignment, HealthStatus, LbEndpoint, LocalityLbEndpoints } from '../model.js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, type ResourceType } from '../ResourceType.js';
import { address } from '../common/Addresses.js';
import { fractionalPercent } from '../common/Matchers.js';
import { defineResourceType } from '../common/ResourceDecoding.js';
import { decodeClusterLoadAssignmentWire } from './ClusterLoadAssignmentWire.js';
import { assignmentsEqual } from './DeferredEndpoints.js';
import { asObj, at, compact, fail, list, optDurationMs, optEnum, optMetadata, optObj, optStr, optUint, optWrappedUint, str, type Obj } from '../common/ObjectReader.js';

const HEALTH: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];

function lbEndpoint(v: unknown, path: string): LbEndpoint {
  const o = asObj(v, path);
  if (o['endpoint_name'] !== undefined) fail(at(path, 'endpoint_name'), 'named endpoints are not supported');
  const e = optObj(o, 'endpoint', path);
  if (!e) fail(at(path, 'endpoint'), 'endpoint is required');
  const ep = at(path, 'endpoint');
  const addr = optObj(e, 'address', ep);
  if (!addr) fail(at(ep, 'address'), 'address is required');
  const weight = optWrappedUint(o, 'load_balancing_weight', path);
  // PGV: load_balancing_weight >= 1 when set.
  if (weight === 0) fail(at(path, 'load_balancing_weight'), 'weight must be at least 1');
  return compact({
    address: address(addr, at(ep, 'address'), false)!,
    additional_addresses: list(e, 'additional_addresses', ep).map((a, i) => {
      const p = at(at(ep, 'additional_addresses'), i);
      const ao = optObj(asObj(a, p), 'address', p);
      if (!ao) fail(at(p, 'address'), 'address is required');
      return address(ao, at(p, 'address'), false)!;
    }),
    hostname: optStr(e, 'hostname', ep) || undefined,
    health_status: optEnum(o, 'health_status', path, HEALTH) ?? 'UNKNOWN',
    load_balancing_weight: weight ?? 1,
    metadata: optMetadata(o, 'metadata', path),
  });
}

function localityLbEndpoints(v: unknown, path: string): LocalityLbEndpoints {
  const o = asObj(v, path);
  if (o['leds_cluster_locality_config'] !== undefined) fail(at(path, 'leds_cluster_locality_config'), 'LEDS is not supported');
  const loc = optObj(o, 'locality', path) ?? {};
  const lp = at(path, 'locality');
  const weight = optWrappedUint(o, 'load_balancing_weight', path);
  return compact({
    locality: { region: str(loc, 'region', lp), zone: str(loc, 'zone', lp), sub_zone: str(loc, 'sub_zone', lp) },
    lb_endpoints: list(o, 'lb_endpoints', path).map((e, i) => lbEndpoint(e, at(at(path, 'lb_endpoints'), i))),
    load_balancing_weight: weight,
    priority: optUint(o, 'priority', path) ?? 0,
  });
}

/** envoy.config.endpoint.v3.ClusterLoadAssignment (gRFC A27 rules). */
export function clusterLoadAssignment(o: Obj, path = ''): ClusterLoadAssignment {
  const endpoints = list(o, 'endpoints', path).map((l, i) => localityLbEndpoints(l, at(at(path, 'endpoints'), i)));
  // gRFC A27: priorities must be contiguous from 0 (a gap means a NACK).
  const priorities = new Set(endpoints.map((e) => e.priority));
  for (let p = 0; p < priorities.size; p++) if (!priorities.has(p)) fail(at(path, 'endpoints'), `priorities are not contiguous: priority ${p} is missing`);
  const pol = optObj(o, 'policy', path) ?? {};
  const pp = at(path, 'policy');
  const opf = optWrappedUint(pol, 'overprovisioning_factor', pp);
  // Same locality in two LocalityLbEndpoints of the same priority is ambiguous (gRFC A27 NACKs it).
  const seen = new Set<string>();
  endpoints.forEach((e, i) => {
    const key = `${e.priority}\u0000${e.locality.region}\u0000${e.locality.zone}\u0000${e.locality.sub_zone}`;
    if (seen.has(key)) fail(at(at(path, 'endpoints'), i), 'duplicate locality in the same priority');
    seen.add(key);
  });
  return {
    cluster_name: str(o, 'cluster_name', path),
    endpoints,
    policy: compact({
      overprovisioning_factor: opf === 0 ? undefined : opf,
      drop_overloads: list(pol, 'drop_overloads', pp).map((d, i) => {
        const dp = at(at(pp, 'drop_overloads'), i);
        const dob = asObj(d, dp);
        const pct = optObj(dob, 'drop_percentage', dp);
        const drop_percentage = pct ? fractionalPercent(pct, at(dp, 'drop_percentage')) : { numerator: 0, denominator: 'HUNDRED' as const };
        return { category: str(dob, 'category', dp), drop_percentage };
      }),
      endpoint_stale_after: optDurationMs(pol, 'endpoint_stale_after', pp),
    }),
  };
}

/** EDS: envoy.config.endpoint.v3.ClusterLoadAssignment. */
export const ClusterLoadAssignmentResource: ResourceType<ClusterLoadAssignment> = defineResourceType({
  typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  shortName: 'EDS',
  allResourcesRequiredInSotW: false,
  nameField: 'cluster_name',
  validate: (o) => clusterLoadAssignment(o),
  decodeWire: decodeClusterLoadAssignmentWire,
  equal: assignmentsEqual,
});
