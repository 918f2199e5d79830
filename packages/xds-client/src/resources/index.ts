export { ListenerResource } from './listener/ListenerResource.js';
export { RouteConfigurationResource } from './route/RouteConfigurationResource.js';
export { ClusterResource } from './cluster/ClusterResource.js';
export { ClusterLoadAssignmentResource } from './endpoint/ClusterLoadAssignmentResource.js';
export { deepFreeze } from './DeepFreeze.js';
export { structurallyEqual } from './StructuralEquality.js';
export { fromProto3Json, encodeProto3Json, anyFromProto3Json, structToJson, valueToJson, opaqueJson, jsonNameOf } from '../proto/ProtoJson.js';
export type { ProtoJsonOptions } from '../proto/ProtoJson.js';
export { KNOWN_RESOURCE_TYPES, resourceTypeFor } from './KnownResourceTypes.js';
