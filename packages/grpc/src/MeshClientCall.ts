import { Metadata, status as Status, type CallCredentials, type InterceptingListener, type StatusObject } from '@grpc/grpc-js';
import {
  AttemptError,
  MeshCallError,
  decorateAttemptMetadata,
  type AttemptRequest,
  type AttemptSettler,
  type AttemptTransport,
  type BodyByteCounts,
  type CallSink,
  type CallTrace,
  type GrpcMetadataCarrier,
  type Cancellation,
  type CancelListener,
  type HeaderLookup,
  type LocalReply,
  type LogicalRequest,
  type RequestView,
  type TargetSnapshot,
} from '@meshlet/core/client';
import { MAX_TIMER_MS, type ChannelCall, type MessageContext } from './ChannelCall.js';
import type { GrpcResponse } from './GrpcResponse.js';
import { LocalGrpcReply } from './LocalGrpcReply.js';
import type { MeshChannel } from './MeshChannel.js';
import { statusForMeshError } from './MeshCallStatus.js';
import { MetadataHeaders, metadataHeader, type MetadataStore } from './MetadataHeaders.js';
import { RequestMessages } from './RequestMessages.js';
import { GRPC_FRAME_PREFIX_BYTES, UpstreamAttempt } from './UpstreamAttempt.js';

/** Until the call is routed (nothing reads the headers before that). */
const NO_HEADERS: HeaderLookup = { get: () => null };
/** Until start() gives the caller's metadata (never written: the call is launched only after start). */
const NO_METADATA = new Metadata();

/**
 * One logical RPC through the mesh: the channel-level call grpc-js's Client drives, and
 * the AttemptTransport the call engine drives. Each attempt is a real call on the picked
 * endpoint's channel; the caller sees exactly one of them (or a status the mesh made).
 * It is also the engine's view of the request (LogicalRequest, RequestView, Cancellation,
 * BodyByteCounts): no request and view records per call.
 */
export class MeshClientCall
  implements
    ChannelCall,
    AttemptTransport<GrpcResponse>,
    CallSink<GrpcResponse>,
    LogicalRequest,
    RequestView,
    Cancellation,
    BodyByteCounts,
    HeaderLookup,
    InterceptingListener
{
  // ---- RequestView (routing's view of the call); `path` is the method's, e.g. /pkg.Service/Method
  readonly method = 'POST';
  readonly isGrpc = true;
  /** The caller's metadata seen as headers, with the call's pseudo-headers: this call itself (get) once routed. */
  headers: HeaderLookup = NO_HEADERS;

  private listener: InterceptingListener | undefined;
  /** The caller's metadata (from start()); attempts send copies of it, decorated. */
  private metadata: Metadata = NO_METADATA;
  /** What the caller sent, kept for the attempts (and a replay); made when a message or the half-close comes before `direct` is set. */
  private messages: RequestMessages | undefined;
  /**
   * The call's only attempt (AttemptRequest.lastAttempt), when it started before any message (as every
   * call routed at start() does): the caller's messages and half-close go straight to it, with the
   * caller's own write context. No replay log or writer is made; the caller's flow control (grpc-js
   * sends the next message after the previous write's callback) keeps one write in flight.
   */
  private direct: UpstreamAttempt | undefined;
  /** Cancellation (LogicalRequest.cancellation): a flag and one listener, no AbortController per call. */
  private cancelled: Error | undefined;
  private cancelListener: CancelListener | undefined;
  private current: UpstreamAttempt | undefined;
  private committed: UpstreamAttempt | undefined;
  private readPending = false;
  /** Inside the engine's start(): what it reports now is delivered on the next tick. */
  private starting = false;
  private finished = false;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private credentials: CallCredentials | undefined;
  private readonly deadline: number;
  /** This call's span and x-request-id while tracing records (read as each attempt's metadata is built); undefined otherwise. */
  private trace: CallTrace | undefined;
  /** RequestIdHolder: an untraced call's x-request-id, sent on every attempt (a traced call keeps it on its CallTrace). */
  requestId: string | undefined;
  /** The snapshot the engine routes this call with (for each attempt's cluster transport socket). */
  private snapshot: TargetSnapshot | undefined;
  /** Request message bytes the caller sent, framed as on the wire (BodyByteCounts, for istio_request_bytes). */
  private sentBytes = 0;

  constructor(
    private readonly core: MeshChannel,
    readonly path: string,
    deadline: number,
    private readonly callNumber: number,
  ) {
    this.deadline = deadline;
  }

  // ---- grpc-js channel-level Call

  start(metadata: Metadata, listener: InterceptingListener): void {
    this.metadata = metadata;
    this.listener = listener;
    // No clock read for a call without a deadline (Infinity), the common case.
    const ms = this.deadline === Number.POSITIVE_INFINITY ? MAX_TIMER_MS + 1 : Math.max(0, this.deadline - Date.now());
    if (ms <= MAX_TIMER_MS) {
      this.deadlineTimer = setTimeout(() => this.cancel(Status.DEADLINE_EXCEEDED, `Deadline exceeded (meshlet: ${this.core.target})`), ms);
    }
    // Routed and its first attempt started here, as grpc-js's own channel starts its call at start():
    // the messages and the half-close that follow (in the same tick for a unary call) go straight
    // to the attempt, and are kept for a replay. No microtask per call (queueMicrotask made an
    // AsyncResource, a bound function and a closure for each) and no extra turn before the attempt.
    this.launch();
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    this.sentBytes += message.length + GRPC_FRAME_PREFIX_BYTES;
    if (this.direct !== undefined) return this.direct.sendMessageWithContext(context, message);
    // This message outgrew the retry buffer: the engine is told (a call waiting in a retry backoff
    // then fails, gRFC A44), on the next tick so the caller's status never comes inside its own write.
    if (this.requestMessages().push(context, message)) process.nextTick(MeshClientCall.notReplayable, this);
  }

  private static notReplayable(call: MeshClientCall): void {
    call.cancelListener?.requestNotReplayable();
  }

  startRead(): void {
    if (this.committed !== undefined) this.committed.startRead();
    else this.readPending = true;
  }

  halfClose(): void {
    if (this.direct !== undefined) this.direct.halfClose();
    else this.requestMessages().halfClose();
  }

  private requestMessages(): RequestMessages {
    return (this.messages ??= new RequestMessages(this.core.retryBufferBytes));
  }

  cancelWithStatus(code: Status, details: string): void {
    this.cancel(code, details);
  }

  getPeer(): string {
    return (this.committed ?? this.current)?.getPeer() ?? this.core.target;
  }

  getAuthContext(): ReturnType<ChannelCall['getAuthContext']> {
    return (this.committed ?? this.current)?.getAuthContext() ?? null;
  }

  setCredentials(credentials: CallCredentials): void {
    this.credentials = credentials;
  }

  getCallNumber(): number {
    return this.callNumber;
  }

  // ---- HeaderLookup: the request headers routing and hash policies read (this call's `headers` once routed)

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (!key.startsWith(':')) return metadataHeader(this.metadata, key);
    if (key === ':path') return this.path;
    if (key === ':authority') return this.core.authority;
    return key === ':method' ? 'POST' : null;
  }

  // ---- BodyByteCounts, read once when the call ends (Istio's request/response size metrics)

  get requestBodyBytes(): number {
    return this.sentBytes;
  }
  /** The last attempt's: the engine returns the last attempt's response, and a failed call's last attempt got none. */
  get responseBodyBytes(): number {
    return this.current?.receivedBytes ?? 0;
  }

  // ---- LogicalRequest (the call engine's view of this call)

  get view(): RequestView {
    return this;
  }
  get authority(): string {
    return this.core.authority;
  }
  get replayable(): boolean {
    return this.messages?.replayable ?? true;
  }
  get cancellation(): Cancellation {
    return this;
  }
  get bytes(): BodyByteCounts {
    return this;
  }

  // ---- the logical call

  private launch(): void {
    try {
      const mesh = this.core.mesh;
      const state = mesh.state(this.core.target);
      if (state.kind === 'pending') {
        mesh.resolve(this.core.target).then(
          (resolved) => this.route(resolved),
          (err: unknown) => this.failUnavailable(err),
        );
      } else {
        this.route(state);
      }
    } catch (err) {
      this.failUnavailable(err);
    }
  }

  /** E.g. the Mesh or the channel was closed under the call. */
  private failUnavailable(err: unknown): void {
    this.finish({ code: Status.UNAVAILABLE, details: `meshlet: ${(err as Error)?.message ?? String(err)}`, metadata: new Metadata() });
  }

  private route(state: ReturnType<MeshChannel['mesh']['state']>): void {
    if (this.finished) return;
    if (state.kind !== 'ready') {
      // gRFC A28: an RPC for a target whose config does not exist fails UNAVAILABLE.
      const why = state.kind === 'missing' ? state.reason : 'no xDS config received yet';
      return this.finish({ code: Status.UNAVAILABLE, details: `meshlet: ${this.core.target}: ${why}`, metadata: new Metadata() });
    }
    const snapshot: TargetSnapshot = state.snapshot;
    this.snapshot = snapshot;
    this.core.sawSnapshot(snapshot);
    this.headers = this;
    const tracing = this.core.tracing;
    this.starting = true;
    try {
      if (tracing !== undefined && tracing.recording) {
        const trace = tracing.startCall({ kind: 'grpc', method: this.path, target: this.core.target });
        this.trace = trace;
        // The engine runs in the call's context: its observer hooks (spans) find the call there.
        trace.enter(() => this.core.engine.start(snapshot, this, this, this));
      } else {
        // No span would record (no OpenTelemetry SDK): no context switch or span hooks, and no
        // CallTrace (its context and attempt-span map cost a few allocations per call):
        // startAttempt() keeps the one x-request-id all attempts send.
        this.core.untracedEngine.start(snapshot, this, this, this);
      }
    } catch (err) {
      this.callFailed(err);
    } finally {
      this.starting = false;
    }
  }

  // ---- CallSink: how the engine's call ended (no execute() Promise and then-closures per call)

  callResponded(response: GrpcResponse): void {
    if (this.starting) {
      // Told while the engine starts (a local reply): the caller hears of it on the next tick, never
      // inside the grpc-js call that launched it (its callback would run before the call is returned).
      process.nextTick(MeshClientCall.respondLater, this, response);
      return;
    }
    // The span's backstop, for a call the observer could not find (no context manager).
    this.trace?.endWhenDone(response);
    this.deliver(response);
  }

  callFailed(err: unknown): void {
    if (this.starting) {
      process.nextTick(MeshClientCall.failLater, this, err);
      return;
    }
    this.trace?.endAfterFailure();
    this.failed(err);
  }

  private static respondLater(call: MeshClientCall, response: GrpcResponse): void {
    call.callResponded(response);
  }

  private static failLater(call: MeshClientCall, err: unknown): void {
    call.callFailed(err);
  }

  private failed(err: unknown): void {
    if (this.finished) return;
    if (err instanceof MeshCallError) return this.finish(statusForMeshError(err));
    this.finish({ code: Status.INTERNAL, details: `meshlet: ${(err as Error)?.message ?? String(err)}`, metadata: new Metadata() });
  }

  private deliver(response: GrpcResponse): void {
    if (this.finished) {
      response.discard();
      return;
    }
    this.messages?.release();
    if (response instanceof UpstreamAttempt) {
      this.committed = response;
      response.commit(this);
      if (this.readPending && !this.finished) response.startRead();
    } else {
      response.commit(this);
    }
  }

  // ---- InterceptingListener: what the committed response delivers to the caller
  // (this object rather than a listener of closures per call). The status goes through finish() so it is delivered once.

  onReceiveMetadata(md: Metadata): void {
    if (!this.finished) this.listener!.onReceiveMetadata(md);
  }

  onReceiveMessage(message: Buffer): void {
    if (!this.finished) this.listener!.onReceiveMessage(message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.finish(status);
  }


  /** Sends one attempt; its UpstreamAttempt tells `settler` (the engine's attempt) of the head or the failure. */
  startAttempt(attempt: AttemptRequest, settler: AttemptSettler<GrpcResponse>): void {
    // gRFC A31: the upstream deadline is the caller's, capped by what the route leaves.
    let deadline = this.deadline;
    const routeBound = attempt.expectedTimeoutMs !== undefined ? Date.now() + attempt.expectedTimeoutMs : Number.POSITIVE_INFINITY;
    if (routeBound < deadline) deadline = routeBound;
    let transport;
    try {
      transport = this.core.transports.forEndpoint(this.snapshot?.cluster(attempt.cluster)?.cluster, attempt.host.metadata);
    } catch (err) {
      // Fail closed (UF): TLS is required but cannot be set up; never fall back to plaintext.
      settler.rejected(new AttemptError('connect-failure', (err as Error).message, false, { cause: err }));
      return;
    }
    // The attempt's metadata is the caller's, decorated in place and put back as soon as the call
    // has started (grpc-js copies it then), or a copy if the channel's recorder is in use. Nothing
    // in between can settle the attempt or run caller code (grpc-js reports statuses on a later tick).
    const writes = this.core.attemptMetadata;
    const inPlace = writes.begin(this.metadata);
    let upstream: UpstreamAttempt | undefined;
    let lease: ReturnType<MeshChannel['endpoints']['acquire']> | undefined;
    try {
      const metadata = inPlace ? writes : this.metadata.clone();
      this.decorate(metadata, attempt);
      lease = this.core.endpoints.acquire(attempt.host, transport);
      const call = lease.channel.createCall(attempt.path, deadline, attempt.authority, null, 0);
      if (this.credentials !== undefined) call.setCredentials(this.credentials);
      upstream = new UpstreamAttempt(call, lease, settler, attempt, routeBound === deadline && Number.isFinite(routeBound));
      this.current = upstream;
      upstream.start(inPlace ? this.metadata : (metadata as Metadata));
    } catch (err) {
      // E.g. a header mutation grpc-js refuses, or the channel closed under the call. A lease taken
      // before an UpstreamAttempt (which releases it with the call's status) existed is given back here.
      if (upstream === undefined) lease?.release();
      settler.rejected(err);
      return;
    } finally {
      if (inPlace) writes.end();
    }
    if (attempt.lastAttempt === true && this.messages === undefined) this.direct = upstream;
    else this.requestMessages().attach(upstream);
  }

  /** This attempt's additions to the caller's metadata (header mutation, counts, ids, trace context, peer metadata). */
  private decorate(metadata: MetadataStore & GrpcMetadataCarrier, attempt: AttemptRequest): void {
    if (!attempt.headerMutation.isEmpty) attempt.headerMutation.applyToRequest(new MetadataHeaders(metadata));
    if (attempt.includeAttemptCount) metadata.set('x-envoy-attempt-count', String(attempt.attemptCount));
    // gRFC A6 (the retry design A44 builds on): retries tell the server how many came before.
    if (attempt.attemptCount > 1) metadata.set('grpc-previous-rpc-attempts', String(attempt.attemptCount - 1));
    // As for HTTP: this attempt's trace context (its own span as parent) and the call's one x-request-id.
    decorateAttemptMetadata(metadata, attempt, this.trace, this.core.attemptHeaders, this.trace ?? this, this.snapshot?.generateRequestId !== false);
  }

  localReply(reply: LocalReply): GrpcResponse {
    return new LocalGrpcReply(reply, this.core.target);
  }

  // ---- Cancellation (the engine's view of the caller cancelling)

  get aborted(): boolean {
    return this.cancelled !== undefined;
  }

  get reason(): unknown {
    return this.cancelled;
  }

  setCancelListener(listener: CancelListener | undefined): void {
    this.cancelListener = listener;
  }

  private cancel(code: Status, details: string): void {
    if (this.finished) return;
    this.cancelled = new Error(details);
    const listener = this.cancelListener;
    this.cancelListener = undefined;
    (this.committed ?? this.current)?.cancel(code, details);
    // The caller's status first: the engine, told next, ends the call at once and reports that
    // here (callFailed), which must then find the call finished with the caller's own status.
    this.finish({ code, details, metadata: new Metadata() });
    listener?.callerCancelled();
  }

  private finish(status: StatusObject): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.messages?.release();
    const listener = this.listener;
    // grpc-js keeps this call reachable after its end (its attempt's grpc-js call keeps the attempt,
    // which notes heads here): what the call will not use again goes, so that it does not survive
    // scavenges with it: the caller's listener (grpc-js's outer call and the caller's callback), its
    // metadata, the routing view and the snapshot.
    this.listener = undefined;
    this.metadata = NO_METADATA;
    this.headers = NO_HEADERS;
    this.snapshot = undefined;
    listener?.onReceiveStatus(status);
  }
}

