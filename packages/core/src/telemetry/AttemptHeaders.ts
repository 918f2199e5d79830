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
  /**
   * Writes a value already known to be legal metadata (the call's x-request-id: one the mesh made, hex
   * digits and dashes, or the caller's own, which grpc-js checked when the caller set it) under a
   * lower-case key: the carrier may skip the checks `set` makes on every write (grpc-js tests the key and
   * the value against its character rules). Optional: without it, `set` is used.
   */
  setValidated?(key: string, value: string): void;
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
 *   on every attempt, as Envoy does (retries share the request id);
 * - Istio peer metadata headers when configured.
 */
export function decorateAttemptHeaders(
  headers: HeaderCarrier,
  attempt: AttemptRequest,
  call: CallTrace | undefined,
  options?: AttemptHeaderOptions,
  ids: RequestIdHolder | undefined = call,
): void {
  const existing = headers.get('x-request-id');
  setRequestId(headers, existing === null || existing === undefined ? '' : existing, ids);
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
): void {
  const existing = metadata.get('x-request-id')[0];
  const id = requestIdToSend(typeof existing === 'string' ? existing : '', ids);
  if (id !== undefined) {
    if (metadata.setValidated !== undefined) metadata.setValidated('x-request-id', id);
    else metadata.set('x-request-id', id);
  }
  decorateRest(metadata, attempt, call, options);
}

function setRequestId(headers: HeaderSetter, existing: string, ids: RequestIdHolder | undefined): void {
  const id = requestIdToSend(existing, ids);
  if (id !== undefined) headers.set('x-request-id', id);
}

/**
 * Keeps the caller's x-request-id (`existing`, '' when absent: nothing to write), else the call's one
 * generated id, kept on `ids` for its other attempts (without a holder, each attempt gets its own).
 */
function requestIdToSend(existing: string, ids: RequestIdHolder | undefined): string | undefined {
  if (existing === '') {
    let id = ids?.requestId;
    if (id === undefined) {
      id = newRequestId();
      if (ids !== undefined) ids.requestId = id;
    }
    return id;
  }
  if (ids !== undefined) ids.requestId ??= existing;
  return undefined;
}

function decorateRest(headers: HeaderSetter, attempt: AttemptRequest, call: CallTrace | undefined, options: AttemptHeaderOptions | undefined): void {
  injectTraceContext(headers, call?.spanFor(attempt));
  const peer = options?.peerMetadata;
  if (peer !== undefined) {
    headers.set('x-envoy-peer-metadata-id', peer['x-envoy-peer-metadata-id']);
    headers.set('x-envoy-peer-metadata', peer['x-envoy-peer-metadata']);
  }
}
