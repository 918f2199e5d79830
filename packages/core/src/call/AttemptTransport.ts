import type { StreamEndListener } from './StreamCompletion.js';
import type { BodyByteCounts } from './CallObserver.js';
import type { Host } from '../cluster/Host.js';
import type { HeaderMutation, RequestView } from '../routing/index.js';
import type { HeaderLookup } from './HeaderLookup.js';
import type { LocalReply } from './MeshCallError.js';

/** One logical request as the caller made it. */
export interface LogicalRequest {
  readonly view: RequestView;
  /**
   * Whether the transport can send the body again. A call whose body is not replayable
   * (a consumed stream) gets one attempt only.
   */
  readonly replayable: boolean;
  /** The caller's cancellation (fetch `signal`, grpc-js call cancel). */
  readonly signal?: AbortSignal;
  /**
   * The caller's cancellation without an AbortSignal (the HTTP transport: one per request was
   * measurable). The engine honours both this and `signal`.
   */
  readonly cancellation?: Cancellation;
  /** connection_properties.source_ip hash input, if known. */
  readonly sourceIp?: string;
  /** The transport's body byte counters, handed to observers in CallSummary.bytes (Istio's request/response size metrics). */
  readonly bytes?: BodyByteCounts;
}

/**
 * Told when the caller cancels, and when the request stops being replayable. An object with
 * methods, not closures: see CancelListener's use in CallEngine (a per-call closure stored on an
 * object is allocated in V8's old generation).
 */
export interface CancelListener {
  callerCancelled(): void;
  /**
   * `LogicalRequest.replayable` turned false (a streamed request outgrew the transport's retry
   * buffer). In a retry backoff the call then fails at once (gRFC A44: no attempt to commit to).
   */
  requestNotReplayable(): void;
}

/** A caller's cancellation the transport tracks itself (see LogicalRequest.cancellation). */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** The one listener to tell on cancel (replacing any previous one); undefined removes it. */
  setCancelListener(listener: CancelListener | undefined): void;
}

/** What the engine asks the transport to send for one attempt. */
export interface AttemptRequest {
  readonly host: Host;
  readonly cluster: string;
  /** Upstream :path after prefix/regex rewrite. */
  readonly path: string;
  /** Upstream :authority after host rewrite. */
  readonly authority: string;
  /** Route/virtual host/route config (and weighted cluster) header mutations to apply. */
  readonly headerMutation: HeaderMutation;
  /** 1-based; send as `x-envoy-attempt-count` when `includeAttemptCount`. */
  readonly attemptCount: number;
  /** VirtualHost.include_request_attempt_count. */
  readonly includeAttemptCount: boolean;
  /** `x-envoy-expected-rq-timeout-ms`: the time this attempt has (per-try or remaining route timeout), if bounded. */
  readonly expectedTimeoutMs: number | undefined;
  /**
   * True when the engine will start no other attempt of this call (its route has no retry policy):
   * the transport need keep nothing for a replay. Absent (or false): it may.
   */
  readonly lastAttempt?: boolean;
  /** Aborted on per-try timeout, route timeout or caller cancellation: stop and release everything. */
  readonly signal: AbortSignal;
  /**
   * The same stop as `signal`, without creating an AbortSignal (the engine creates it only when read):
   * `listener` runs once when the attempt is stopped, or at once if it already was. Optional so that
   * hand-built requests (tests) need only `signal`.
   */
  onStop?(listener: AttemptStopListener): void;
}

/**
 * Told when the engine stops an attempt: a function, or an object (the transport's per-attempt
 * handler itself, so that registering costs no closure per attempt).
 */
export type AttemptStopListener = ((reason: Error) => void) | { attemptStopped(reason: Error): void };

/**
 * Where a transport started with `AttemptTransport.startAttempt` reports how the attempt settled: exactly
 * one of the two, once (it may be during `startAttempt` itself). The engine passes its attempt object.
 */
export interface AttemptSettler<R> {
  resolved(response: R): void;
  rejected(error: unknown): void;
}

/** The response headers of one attempt; the body stays with the transport. */
export interface AttemptResponse {
  readonly status: number;
  readonly headers: HeaderLookup;
  /** grpc-status when known before the response commits (Trailers-Only), gRFC A44. */
  readonly grpcStatus?: number;
  /** Called when the engine retries instead of returning this response: drop/close the body. */
  discard(): void;
  /**
   * Runs `callback` once the response stream has ended (body or trailers fully received, or
   * it failed, was reset or discarded); at once if it already has. The engine holds the
   * call's `max_requests` slot and reports `onCallEnd` until then, as Envoy counts a request
   * active until its stream completes. Optional: a response without it (a local reply) is
   * complete when it is returned. `callback` is a function or an object with `streamEnded` (the
   * engine passes its call: no closure per call); StreamCompletion takes both.
   */
  onStreamEnd?(callback: StreamEndListener): void;
}

/**
 * Thrown (rejected) by a transport when an attempt got no response. Any other rejection
 * counts as a `reset`.
 */
export class AttemptError extends Error {
  override readonly name = 'AttemptError';
  constructor(
    readonly kind: 'connect-failure' | 'reset' | 'refused-stream',
    message: string,
    /** false when no request bytes reached the upstream (reset-before-request). */
    readonly requestStarted = true,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Implemented by packages/http (undici) and packages/grpc (grpc-js). */
export interface AttemptTransport<R extends AttemptResponse = AttemptResponse> {
  /**
   * Sends one attempt; settles with its response head or rejects when it got none. A transport
   * implements this or `startAttempt` (the engine uses `startAttempt` when present).
   */
  send?(attempt: AttemptRequest): Promise<R>;
  /**
   * The same as `send`, reporting to `settler` instead of returning a Promise: no Promise and no
   * settle closures per attempt on the hot path (Meshlet's HTTP and gRPC transports).
   */
  startAttempt?(attempt: AttemptRequest, settler: AttemptSettler<R>): void;
  /** Builds the transport's response for a reply generated locally: direct_response, redirect, fault abort. */
  localReply(reply: LocalReply): R;
  /**
   * Whether this attempt would wait for a connection (Envoy's "pending" request: the endpoint's
   * pool is at max_connections). The engine then needs a max_pending_requests slot, or the call
   * overflows (503 UO) at once. Transports that never queue (HTTP/2 multiplexing) omit it.
   */
  wouldQueue?(attempt: AttemptRequest): boolean;
}
