import type { Dispatcher } from 'undici';
import {
  AttemptError,
  MeshCallError,
  decorateAttemptHeaders,
  type AttemptHeaderOptions,
  CallTrace,
  type MeshTracing,
  selectTransportSocket,
  type UpstreamTlsFactory,
  type AttemptRequest,
  type AttemptSettler,
  type AttemptTransport,
  type LogicalRequest,
  type RequestView,
  type Cancellation,
  type CancelListener,
  type CallEngine,
  type CallSink,
  type LocalReply,
  type TargetSnapshot,
} from '@meshlet/core/client';
import type { TransportSocket } from '@meshlet/xds-client';
import type { CallerHandler, CommittableResponse } from './CommittableResponse.js';
import { legacyHandlerOf, modernHandler, startLegacyCaller } from './LegacyCallerHandler.js';
import { LocalResponse } from './LocalResponse.js';
import { AttemptHeaderList } from './AttemptHeaderList.js';
import { attemptDispatchOptions } from './CallDispatchOptions.js';
import { ReplayableBody } from './ReplayableBody.js';
import { RequestHeaders } from './RequestHeaders.js';
import { UpstreamAttempt, type AttemptCaller } from './UpstreamAttempt.js';
import type { UpstreamPools } from './UpstreamPools.js';

export interface MeshCallOptions {
  readonly engine: CallEngine;
  /** The same engine without the tracing observer, for calls made while tracing does not record. */
  readonly untracedEngine: CallEngine;
  /** 'response' (default): failures become Envoy-style local replies (503 UH, 404 NR...). 'error': the request fails with a MeshCallError. */
  readonly localReplies: 'response' | 'error';
  readonly maxReplayBodyBytes: number;
  /** When set, attempts tell the pools which cluster an endpoint belongs to (protocol, limits, TLS). */
  readonly pools?: UpstreamPools;
  /** Client TLS from CDS transport sockets; without it a cluster that asks for TLS fails closed. */
  readonly tls?: UpstreamTlsFactory;
  readonly tracing?: MeshTracing;
  /** x-request-id, trace context and peer metadata on every attempt. */
  readonly attemptHeaders: AttemptHeaderOptions;
  /** The next dispatcher's dispatch, where the attempts go. */
  readonly dispatch: Dispatcher['dispatch'];
}

/**
 * One logical HTTP request through the mesh: the AttemptTransport the call
 * engine drives, the LogicalRequest and RequestView it routes (one object, not
 * three per request), and the controller the caller's handler sees (its pause,
 * resume and abort act on whichever attempt is current).
 */
export class MeshCall
  implements AttemptTransport<CommittableResponse>, CallSink<CommittableResponse>, CallerHandler, LogicalRequest, RequestView, Dispatcher.DispatchController, Cancellation, AttemptCaller
{
  readonly headers: RequestHeaders;
  /** CallerHandler: the caller's handler when it speaks undici's legacy callbacks (undici.request, fetch). Read twice per call. */
  get legacy(): Dispatcher.DispatchHandler | undefined {
    return legacyHandlerOf(this.handler);
  }
  // ---- RequestView and LogicalRequest (authority is set in run)
  authority = '';
  get view(): RequestView {
    return this;
  }
  // (Read from the options, the headers and the body: a call's fields cost 8 bytes each, held while it is in flight.)
  /** The options' own: the first attempt is dispatched with them in place only when its path is this one (attemptDispatchOptions). */
  get path(): string {
    return this.opts.path;
  }
  get method(): string {
    return this.opts.method;
  }
  /** Read once per route match (RouteTable). */
  get isGrpc(): boolean {
    return (this.headers.get('content-type') ?? '').startsWith('application/grpc');
  }
  /** Read by the engine once run() has begun the call (the body is known from then on). */
  get replayable(): boolean {
    return this.body.replayable;
  }
  get cancellation(): Cancellation {
    return this;
  }
  get bytes(): MeshCall {
    return this;
  }
  private body!: ReplayableBody;
  private current: UpstreamAttempt | undefined;
  private snapshot!: TargetSnapshot;
  /** Why the last attempt got no response (TLS check, connect error): appended to local replies. */
  private lastAttemptError: Error | undefined;
  /** The call's trace while tracing records; undefined otherwise (then requestId is kept here). */
  private trace: CallTrace | undefined;
  /** RequestIdHolder: an untraced call's x-request-id, shared by its attempts (a traced call keeps it on its CallTrace). */
  requestId: string | undefined;
  private _paused = false;
  /** The local reply this call answered with, if any (its size is the call's response bytes). */
  private local: LocalResponse | undefined;

  constructor(
    /** The call's own copy of the caller's options (callDispatchOptions), read here and sent with the first attempt. */
    private readonly opts: Dispatcher.DispatchOptions,
    /** CallerHandler: the caller's handler as it came, undici's current API or its legacy callbacks. */
    readonly handler: Dispatcher.DispatchHandler,
    private readonly options: MeshCallOptions,
  ) {
    this.headers = RequestHeaders.of(opts.headers as Parameters<typeof RequestHeaders.of>[0]);
  }

  // ---- DispatchController for the caller's handler

  // Flags and a listener, not an AbortController: creating an AbortSignal per request (and
  // subscribing to it per attempt) showed up in the profile. The call is its own Cancellation.
  /** Set when aborted (then never null). */
  private _reason: Error | null = null;
  private cancelListener: CancelListener | undefined;
  get aborted(): boolean {
    return this._reason !== null;
  }
  get paused(): boolean {
    return this._paused;
  }
  get reason(): Error | null {
    return this._reason;
  }
  abort(reason: Error): void {
    if (this._reason !== null) return; // as AbortController: the first reason stands
    this._reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    const listener = this.cancelListener;
    this.cancelListener = undefined;
    if (listener !== undefined) listener.callerCancelled();
    // The engine no longer listens once it has handed the response over: the caller gave up on its body
    // (undici.request's body destroyed, fetch's aborted), so the upstream request is reset, as Envoy resets
    // the upstream stream when the downstream one goes away (a no-op when the attempt already ended).
    else this.current?.abort(this._reason);
  }
  setCancelListener(listener: CancelListener | undefined): void {
    this.cancelListener = listener;
  }
  pause(): void {
    this._paused = true;
    this.current?.pause();
  }
  resume(): void {
    this._paused = false;
    this.current?.resume();
  }

  // ---- BodyByteCounts, read once when the call ends (Istio's request/response size metrics)

  get requestBodyBytes(): number | undefined {
    return this.body?.bytes;
  }
  /**
   * A local reply's body (direct_response, redirect, fault abort, or the reply to a failure), else the last
   * attempt's: the engine returns the last attempt's response, and a failed call's last attempt got none.
   */
  get responseBodyBytes(): number {
    return this.local?.bodyBytes ?? this.current?.receivedBytes ?? 0;
  }

  // ---- the logical call

  /** Starts the call; the caller's handler hears of its response or failure through the CallSink methods. */
  run(snapshot: TargetSnapshot, authority: string): void {
    this.snapshot = snapshot;
    // A legacy handler is told directly: no adapter per request (modern() makes one where a path needs it).
    const legacy = this.legacy;
    if (legacy !== undefined) startLegacyCaller(legacy, this);
    else this.modern().onRequestStart?.(this, {});
    if (this.aborted) return;
    // No Promise (and no microtask) for a body that is replayable as it is.
    const body = ReplayableBody.ofReplayable(this.opts.body);
    if (body !== undefined) this.begin(body, authority);
    else
      ReplayableBody.from(this.opts.body, this.options.maxReplayBodyBytes).then(
        (b) => this.begin(b, authority),
        (err: unknown) => this.callFailed(err),
      );
  }

  private begin(body: ReplayableBody, authority: string): void {
    this.body = body;
    this.authority = this.headers.get('host') ?? authority;
    const tracing = this.options.tracing;
    if (tracing !== undefined && tracing.recording) {
      const trace = tracing.startCall({ kind: 'http', method: this.opts.method, target: this.snapshot.target });
      this.trace = trace;
      // The engine runs in the call's context: its observer hooks (spans) find the call there.
      trace.enter(() => this.options.engine.start(this.snapshot, this, this, this));
    } else {
      // No span would record: no context switch or span hooks (the untraced engine).
      this.options.untracedEngine.start(this.snapshot, this, this, this);
    }
  }

  // ---- CallSink: how the engine's call ended

  callResponded(response: CommittableResponse): void {
    // The span's backstop, for a call the observer could not find (no context manager).
    this.trace?.endWhenDone(response);
    response.commit(this);
  }

  callFailed(err: unknown): void {
    this.trace?.endAfterFailure();
    if (err instanceof MeshCallError && this.options.localReplies === 'response' && !this.aborted) {
      const why = this.lastAttemptError ? `; ${this.lastAttemptError.message}` : '';
      const reply = (this.local = new LocalResponse(err.localReply, `${err.message}${why}\n`));
      reply.commit(this);
    } else {
      this.modern().onResponseError?.(this, err as Error);
    }
  }

  /** CallerHandler: the caller's handler in undici's current API (for a legacy one, an adapter made now). */
  modern(): Dispatcher.DispatchHandler {
    return modernHandler(this.handler);
  }

  noteAttemptError(err: Error): void {
    this.lastAttemptError = err;
  }

  /** Sends one attempt; its UpstreamAttempt tells `settler` (the engine's attempt) of the head or the failure. */
  startAttempt(attempt: AttemptRequest, settler: AttemptSettler<CommittableResponse>): void {
    // Room for what the mesh adds (below): host and x-request-id, x-envoy-expected-rq-timeout-ms and
    // x-envoy-attempt-count when sent, trace context (traceparent, tracestate) when traced, Istio's two peer
    // metadata headers when configured. The route's request_headers_to_add go past it.
    const rewritten = attempt.path !== this.opts.path;
    const room =
      4 +
      (rewritten ? 2 : 0) +
      (attempt.expectedTimeoutMs === undefined ? 0 : 2) +
      (attempt.includeAttemptCount ? 2 : 0) +
      (this.trace === undefined ? 0 : 4) +
      (this.options.attemptHeaders.peerMetadata === undefined ? 0 : 4);
    const headers = AttemptHeaderList.over(this.headers.toFlat(room), 2 * this.headers.size);
    if (!attempt.headerMutation.isEmpty) attempt.headerMutation.applyToRequest(headers);
    // One x-request-id for all the call's attempts, as Envoy does (the caller's wins; none generated
    // when the listener's HCM sets generate_request_id false).
    decorateAttemptHeaders(headers, attempt, this.trace, this.options.attemptHeaders, this.trace ?? this, this.snapshot.generateRequestId);
    headers.set('host', attempt.authority);
    if (attempt.includeAttemptCount) headers.set('x-envoy-attempt-count', String(attempt.attemptCount));
    if (attempt.expectedTimeoutMs !== undefined) headers.set('x-envoy-expected-rq-timeout-ms', String(Math.ceil(attempt.expectedTimeoutMs)));
    // Envoy's router sends a rewritten request's original path (query included) upstream in this header.
    if (rewritten) headers.set('x-envoy-original-path', this.opts.path);
    const flat = headers.done();
    const upstream = new UpstreamAttempt(settler, this, attempt, attempt.headerMutation);
    this.current = upstream;
    const host = attempt.host;
    const address = addressOf(host);
    const endpoint = address.endpoint;
    const cluster = this.snapshot.cluster(attempt.cluster)?.cluster;
    let tls;
    if (cluster && (cluster.transport_socket || cluster.transport_socket_matches.length > 0)) {
      try {
        if (this.options.tls) {
          const transport = this.options.tls.forEndpoint(cluster, host.metadata);
          if (transport.kind === 'tls') tls = transport;
        } else if (needsTls(selectTransportSocket(cluster, host.metadata).socket)) {
          // Envoy selects the socket per endpoint: an endpoint no transport_socket_matches entry picks (with no
          // cluster transport_socket), or one given raw_buffer (Istio's tlsMode-disabled), is plaintext.
          throw new Error(`cluster ${cluster.name} requires a transport socket but no certificate providers are configured (bootstrap certificate_providers or the certificateProviders option)`);
        }
      } catch (err) {
        // Fail closed: never fall back to plaintext when the config asks for TLS.
        upstream.fail(new AttemptError('connect-failure', (err as Error).message, false, { cause: err }));
        return;
      }
    }
    const origin = tls ? `https://${endpoint}` : address.plainOrigin;
    if (cluster && this.options.pools) upstream.occupy(this.options.pools.note(origin, endpoint, cluster, tls));
    try {
      const body = this.body.take();
      this.options.dispatch(attemptDispatchOptions(this.opts, attempt.attemptCount === 1, origin, attempt.path, flat, body), upstream);
    } catch (err) {
      upstream.leave();
      upstream.fail(err as Error);
    }
    if (this._paused) upstream.pause();
  }

  wouldQueue(attempt: AttemptRequest): boolean {
    return this.options.pools?.wouldQueue(addressOf(attempt.host).endpoint) === true;
  }

  localReply(reply: LocalReply): CommittableResponse {
    return (this.local = new LocalResponse(reply));
  }
}

/** An endpoint's `address:port` (IPv6 bracketed) and its plaintext origin. */
interface HostAddress {
  readonly endpoint: string;
  readonly plainOrigin: string;
}

/** Per host, made on first use and dropped with the host (a Host's address and port are fixed for its life). */
const ADDRESSES = new WeakMap<AttemptRequest['host'], HostAddress>();

/**
 * The host looked up last and its address, checked before the WeakMap: an attempt looks its host up twice
 * in a row (wouldQueue, then startAttempt). Holds one host after it leaves the config, until the next lookup.
 */
let lastHost: AttemptRequest['host'] | undefined;
let lastAddress: HostAddress | undefined;

function addressOf(host: AttemptRequest['host']): HostAddress {
  if (host === lastHost) return lastAddress!;
  let address = ADDRESSES.get(host);
  if (address === undefined) {
    const endpoint = host.address.includes(':') ? `[${host.address}]:${host.port}` : `${host.address}:${host.port}`;
    address = { endpoint, plainOrigin: `http://${endpoint}` };
    ADDRESSES.set(host, address);
  }
  lastHost = host;
  lastAddress = address;
  return address;
}

/** Whether a selected transport socket is anything but plaintext (absent or raw_buffer). */
function needsTls(socket: TransportSocket | undefined): boolean {
  return socket !== undefined && socket.raw_buffer !== true && socket.name !== 'envoy.transport_sockets.raw_buffer';
}
