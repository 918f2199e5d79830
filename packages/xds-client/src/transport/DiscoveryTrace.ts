import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './DiscoveryMessages.js';

/**
 * One-line descriptions of ADS messages for the `xds` debug topic (MESHLET_DEBUG=xds): names,
 * versions, nonces and counts, never resource bodies or the node (which can be large and carry
 * metadata an operator did not mean to print). The kind says what a request means on the wire:
 * a first subscription (no nonce), an ACK, or a NACK (error_detail set).
 */
export interface TraceLine {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

const shortType = (typeUrl: string | undefined) => (typeUrl ?? '').replace(/^type\.googleapis\.com\/envoy\.config\.[a-z]+\.v3\./, '');

export function describeRequest(request: DiscoveryRequest | DeltaDiscoveryRequest, delta: boolean): TraceLine {
  const nonce = request.response_nonce ?? '';
  const kind = request.error_detail ? 'NACK' : nonce === '' ? 'subscribe' : 'ACK';
  const fields: Record<string, unknown> = { type: shortType(request.type_url) };
  if (!delta) {
    const r = request as DiscoveryRequest;
    fields['version'] = r.version_info ?? '';
    fields['names'] = r.resource_names ?? [];
  } else {
    const r = request as DeltaDiscoveryRequest;
    if (r.resource_names_subscribe?.length) fields['subscribe'] = r.resource_names_subscribe;
    if (r.resource_names_unsubscribe?.length) fields['unsubscribe'] = r.resource_names_unsubscribe;
    if (r.initial_resource_versions) fields['initial_versions'] = Object.keys(r.initial_resource_versions).length;
  }
  if (nonce !== '') fields['nonce'] = nonce;
  if (request.error_detail) fields['error'] = request.error_detail.message ?? '';
  return { message: `xDS request (${kind})`, fields };
}

export function describeResponse(message: DiscoveryResponse | DeltaDiscoveryResponse, delta: boolean): TraceLine {
  const fields: Record<string, unknown> = { type: shortType(message.type_url) };
  if (delta) {
    const m = message as DeltaDiscoveryResponse;
    fields['version'] = m.system_version_info ?? '';
    fields['resources'] = (m.resources ?? []).map((r) => r.name ?? '?');
    if (m.removed_resources?.length) fields['removed'] = m.removed_resources;
  } else {
    const m = message as DiscoveryResponse;
    fields['version'] = m.version_info ?? '';
    fields['resources'] = (m.resources ?? []).length;
  }
  fields['nonce'] = message.nonce ?? '';
  return { message: 'xDS response', fields };
}
