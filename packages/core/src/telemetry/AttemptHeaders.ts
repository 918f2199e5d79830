import type { AttemptRequest } from '../call/AttemptTransport.js';
import { newRequestId } from '../call/RequestId.js';
import type { CallTrace } from './CallTrace.js';
import type { PeerMetadataHeaders } from './PeerMetadata.js';
import { injectTraceContext, type HeaderSetter } from './TraceContextInjection.js';

/** Outbound attempt headers: read (to keep the caller's x-request-id) and write. */
export interface HeaderCarrier extends HeaderSetter {
  get(name: string): string | null | undefined;
}

/** The slice of grpc-js `Metadata` used here (kept structural so core does not depend on grpc-js). */
export interface GrpcMetadataCarrier {
  get(key: string): readonly unknown[];
  set(key: string, value: string): void;
}

/**
 * Where a call keeps its one x-request-id across attempts: its CallTrace when traced, else the
 * transport's own call object.
 */
export interface RequestIdHolder {
  requestId: string | undefined;
}

export interface AttemptHeaderOptions {
  /** Istio metadata exchange headers (see istioPeerMetadataHeaders); sent when given. */
  readonly peerMetadata?: PeerMetadataHeaders | undefined;
}

/**
 * Decorates one attempt's headers, called by the transport as it builds each attempt:
 * - trace context of the attempt's span (or the call's when attempt spans are off), so the
 *   upstream parents to the attempt it actually received;
 * - `x-request-id`: the caller's if present, else a UUID v4 generated once per call and sent
 *   on every attempt, as Envoy does (retries share the request id); none is generated when
 *   `generateRequestId` is false (the listener's HCM generate_request_id), as Envoy then sends none;
 * - Istio peer metadata headers when configured.
 */
export function decorateAttemptHeaders(
  headers: HeaderCarrier,
  attempt: AttemptRequest,
  call: CallTrace | undefined,
  options?: AttemptHeaderOptions,
  ids: RequestIdHolder | undefined = call,
  generateRequestId = true,
): void {
  const existing = headers.get('x-request-id');
  setRequestId(headers, existing === null || existing === undefined ? '' : existing, ids, generateRequestId);
  decorateRest(headers, attempt, call, options);
}

/**
 * The gRPC variant: the same decoration on grpc-js Metadata (keys are lower-case there too).
 * Metadata is written directly: no adapter object or closures per attempt (this runs once per
 * attempt on the unary hot path).
 */
export function decorateAttemptMetadata(
  metadata: GrpcMetadataCarrier,
  attempt: AttemptRequest,
  call: CallTrace | undefined,
  options?: AttemptHeaderOptions,
  ids: RequestIdHolder | undefined = call,
  generateRequestId = true,
): void {
  const existing = metadata.get('x-request-id')[0];
  setRequestId(metadata, typeof existing === 'string' ? existing : '', ids, generateRequestId);
  decorateRest(metadata, attempt, call, options);
}

/**
 * Keeps the caller's x-request-id (`existing`, '' when absent), else sends the call's one generated id,
 * kept on `ids` for its other attempts (without a holder, each attempt gets its own), unless `generate` is false.
 */
function setRequestId(headers: HeaderSetter, existing: string, ids: RequestIdHolder | undefined, generate: boolean): void {
  if (existing === '') {
    if (!generate) return;
    let id = ids?.requestId;
    if (id === undefined) {
      id = newRequestId();
      if (ids !== undefined) ids.requestId = id;
    }
    headers.set('x-request-id', id);
  } else if (ids !== undefined) {
    ids.requestId ??= existing;
  }
}

function decorateRest(headers: HeaderSetter, attempt: AttemptRequest, call: CallTrace | undefined, options: AttemptHeaderOptions | undefined): void {
  injectTraceContext(headers, call?.spanFor(attempt));
  const peer = options?.peerMetadata;
  if (peer !== undefined) {
    headers.set('x-envoy-peer-metadata-id', peer['x-envoy-peer-metadata-id']);
    headers.set('x-envoy-peer-metadata', peer['x-envoy-peer-metadata']);
  }
}
