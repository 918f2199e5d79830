import type { ResourceType } from './ResourceType.js';
import { ListenerResource } from './listener/ListenerResource.js';
import { RouteConfigurationResource } from './route/RouteConfigurationResource.js';
import { ClusterResource } from './cluster/ClusterResource.js';
import { ClusterLoadAssignmentResource } from './endpoint/ClusterLoadAssignmentResource.js';

/** The four resource types Meshlet consumes, keyed by type URL. */
export const KNOWN_RESOURCE_TYPES: ReadonlyMap<string, ResourceType<unknown>> = new Map<string, ResourceType<unknown>>([
  [ListenerResource.typeUrl, ListenerResource as ResourceType<unknown>],
  [RouteConfigurationResource.typeUrl, RouteConfigurationResource as ResourceType<unknown>],
  [ClusterResource.typeUrl, ClusterResource as ResourceType<unknown>],
  [ClusterLoadAssignmentResource.typeUrl, ClusterLoadAssignmentResource as ResourceType<unknown>],
]);

/** The resource type for a type URL or bare proto name, if Meshlet consumes it. */
export function resourceTypeFor(typeUrlOrName: string): ResourceType<unknown> | undefined {
  const name = typeUrlOrName.slice(typeUrlOrName.lastIndexOf('/') + 1);
  return KNOWN_RESOURCE_TYPES.get(`type.googleapis.com/${name}`);
}
