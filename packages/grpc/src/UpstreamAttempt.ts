import { Metadata, status as Status, type InterceptingListener, type StatusObject } from '@grpc/grpc-js';
import { AttemptError, StreamCompletion, type AttemptRequest, type AttemptSettler, type HeaderLookup, type StreamEnd, type StreamEndListener } from '@meshlet/core/client';
import type { ChannelCall, MessageContext } from './ChannelCall.js';
import { connectFailureReason } from './ConnectFailureReason.js';
import type { EndpointLease } from './EndpointChannelPool.js';
import type { GrpcResponse } from './GrpcResponse.js';
import { MetadataHeaders } from './MetadataHeaders.js';
import type { MessageSink } from './MessageWriter.js';

/**
 * gRPC's length-prefixed message framing: 1 byte compressed flag + 4 bytes length. Messages here
 * are serialized but unframed; sizes add the prefix so they are the HTTP/2 DATA bytes a sidecar
 * counts for istio_request_bytes / istio_response_bytes (uncompressed messages).
 */
export const GRPC_FRAME_PREFIX_BYTES = 5;

const enum State {
  Waiting, // nothing from upstream yet
  Held, // the head arrived; the engine has not decided: hold what follows
  Committed, // forwarding to the caller's listener
  Discarded, // the engine retries instead
}

/**
 * The stream end reported for each gRPC status code, made once: no object literal per call (a
 * literal site whose objects live through scavenges gets pretenured by V8, see RequestMessages).
 */
const STREAM_ENDS: readonly StreamEnd[] = Array.from({ length: 17 }, (_, code) => Object.freeze({ grpcStatus: code }));

function streamEndOf(code: number): StreamEnd {
  return STREAM_ENDS[code] ?? { grpcStatus: code };
}

/** The settler of an attempt whose status has arrived: the engine has been told all it will be. */
const SETTLED: AttemptSettler<UpstreamAttempt> = { resolved() {}, rejected() {} };

/** An attempt's headers until its head arrives (read-only, so one instance serves every attempt). */
const NO_HEADERS: HeaderLookup = new MetadataHeaders(new Metadata());

/**
 * One attempt of a logical call: a real grpc-js call on the endpoint's channel.
 *
 * Its "head" for the call engine is whichever comes first (gRFC A44): response headers
 * (the server committed to answering; grpc-status comes later and is never retried), or a
 * Trailers-Only status (grpc-status known up front, so a retry policy can act on it).
 * Nothing is read from upstream before the engine commits: the caller's reads are passed
 * through afterwards, so grpc-js flow control stays end to end.
 *
 * It is also its response stream's completion (StreamCompletion): the stream ends with the call's
 * status, and a server stream is one request for the circuit breaker until then (Envoy's active
 * request; gRFC A32 counts the RPC until it completes). Inherited rather than held: one object per attempt.
 */
export class UpstreamAttempt extends StreamCompletion implements GrpcResponse, MessageSink, InterceptingListener {
  readonly status = 200;
  grpcStatus: number | undefined;
  /** The head's metadata seen as headers, made when the engine first reads them (a call with no retry policy never does). */
  private headerView: HeaderLookup | undefined;
  private state = State.Waiting;
  private metadata: Metadata | undefined;
  private finalStatus: StatusObject | undefined;
  private sink: InterceptingListener | undefined;
  /** Messages that arrived between the head and the engine's decision (made only if one does). */
  private held: Buffer[] | undefined;
  /** Set only when the attempt came with a signal and no onStop (hand-built requests). */
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort: (() => void) | undefined;
  /** Why the engine stopped the attempt before start() (onStop runs at once for a stopped attempt). */
  private stopped: Error | undefined;
  private started = false;
  /** The upstream call has reported its status: nothing left to cancel. */
  private upstreamEnded = false;
  /** Response message bytes received, framed (Istio's response_bytes when this attempt's response is the caller's). */
  receivedBytes = 0;

  constructor(
    private readonly call: ChannelCall,
    private readonly lease: EndpointLease,
    /** The engine's attempt (or a Promise's settle functions): told of the head or the failure, once. */
    private settler: AttemptSettler<UpstreamAttempt>,
    attempt: Pick<AttemptRequest, 'signal' | 'onStop'>,
    /** The upstream deadline is the route's max_stream_duration bound, not the caller's. */
    private readonly routeBoundDeadline: boolean,
  ) {
    super();
    if (attempt.onStop !== undefined) {
      // No AbortSignal per attempt (the engine creates one only when `signal` is read), and this
      // object is the listener (attemptStopped): no closure per attempt.
      attempt.onStop(this);
    } else {
      const signal = attempt.signal;
      this.signal = signal;
      this.onAbort = () => this.stop(signal.reason as Error | undefined);
      if (signal.aborted) this.stopped = (signal.reason as Error | undefined) ?? new Error('aborted');
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** AttemptStopListener: the engine stopped this attempt (per-try or route timeout, caller cancel, a hedge won). */
  attemptStopped(reason: Error): void {
    this.stop(reason);
  }

  private stop(reason: Error | undefined): void {
    if (!this.started) {
      this.stopped = reason ?? new Error('aborted');
      return;
    }
    if (this.state !== State.Committed && !this.upstreamEnded) this.call.cancelWithStatus(Status.CANCELLED, `meshlet: attempt stopped: ${String(reason?.message ?? 'aborted')}`);
  }

  private unsubscribe(): void {
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort);
  }

  start(metadata: Metadata): void {
    this.started = true;
    // This attempt is the upstream call's listener itself: no listener object and closures per attempt.
    this.call.start(metadata, this);
    if (this.stopped !== undefined) this.stop(this.stopped);
  }

  // ---- InterceptingListener (the upstream call's events)

  onReceiveMessage(message: Buffer): void {
    this.receivedBytes += message.length + GRPC_FRAME_PREFIX_BYTES;
    if (this.state === State.Committed) this.sink!.onReceiveMessage(message);
    else if (this.state === State.Held) (this.held ??= []).push(message);
  }

  onReceiveMetadata(md: Metadata): void {
    if (this.state === State.Committed) return this.sink!.onReceiveMetadata(md);
    if (this.state !== State.Waiting) return;
    this.metadata = md;
    this.state = State.Held;
    this.settler.resolved(this);
  }

  onReceiveStatus(status: StatusObject): void {
    this.upstreamEnded = true;
    this.lease.release();
    this.unsubscribe();
    this.complete(streamEndOf(status.code));
    this.statusArrived(status);
    // Nothing is told to the engine after this. grpc-js's call objects can stay reachable after the
    // call (they keep this attempt as their listener), so the attempt lets go of the engine's
    // attempt, and through it of the call's engine state, which would otherwise survive scavenges
    // with them (V8 then tenures their allocation sites: see "gRPC overhead, fifth pass").
    this.settler = SETTLED;
    if (this.state === State.Committed || this.state === State.Discarded) {
      // So does what it has delivered (or never will): the head's metadata and its view, the status.
      this.sink = this.metadata = this.finalStatus = this.headerView = undefined;
    }
  }

  private statusArrived(status: StatusObject): void {
    switch (this.state) {
      case State.Committed:
        return this.sink!.onReceiveStatus(status);
      case State.Held:
        this.finalStatus = status;
        return;
      case State.Discarded:
        return;
      case State.Waiting:
        break;
    }
    if (status.code === Status.DEADLINE_EXCEEDED && this.routeBoundDeadline) {
      // The engine's route timer ends at the same instant and reports UT; let it, so the
      // caller sees why (gRFC A31 max_stream_duration), not a bare deadline.
      this.state = State.Discarded;
      return;
    }
    // grpc-js reports a connection it could not establish as a local UNAVAILABLE with no
    // metadata; Envoy calls that connect-failure (UF), which outlier detection counts as
    // a local-origin failure rather than an upstream 503.
    if (status.code === Status.UNAVAILABLE && Object.keys(status.metadata.getMap()).length === 0 && /No connection established|Failed to connect|ECONNREFUSED/i.test(status.details)) {
      this.state = State.Discarded;
      this.settler.rejected(new AttemptError('connect-failure', `connect failure: ${connectFailureReason(status.details)}`, false));
      return;
    }
    // Trailers-Only: the status is the response head.
    this.grpcStatus = status.code;
    this.finalStatus = status;
    this.state = State.Held;
    this.settler.resolved(this);
  }

  // ---- AttemptResponse (engine side)

  /** The head's headers: the response headers, or a Trailers-Only status's metadata; none before the head or once delivered. */
  get headers(): HeaderLookup {
    if (this.headerView !== undefined) return this.headerView;
    const head = this.metadata ?? this.finalStatus?.metadata;
    return head === undefined ? NO_HEADERS : (this.headerView = new MetadataHeaders(head));
  }

  discard(): void {
    if (this.state !== State.Held && this.state !== State.Waiting) return;
    this.state = State.Discarded;
    this.held = undefined;
    if (this.finalStatus === undefined) this.call.cancelWithStatus(Status.CANCELLED, 'meshlet: attempt discarded for a retry');
    this.complete();
  }

  onStreamEnd(callback: StreamEndListener): void {
    this.onComplete(callback);
  }

  commit(listener: InterceptingListener): void {
    this.state = State.Committed;
    this.sink = listener;
    this.unsubscribe();
    if (this.metadata !== undefined) listener.onReceiveMetadata(this.metadata);
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) for (const message of held) listener.onReceiveMessage(message);
    if (this.finalStatus !== undefined) {
      listener.onReceiveStatus(this.finalStatus);
      this.sink = undefined;
    }
  }

  // ---- request side (MessageSink) and caller operations after commit

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.state === State.Discarded) {
      context.callback?.();
      return;
    }
    this.call.sendMessageWithContext(context, message);
  }

  halfClose(): void {
    if (this.state !== State.Discarded) this.call.halfClose();
  }

  startRead(): void {
    this.call.startRead();
  }

  cancel(code: Status, details: string): void {
    this.call.cancelWithStatus(code, details);
  }

  getPeer(): string {
    return this.call.getPeer();
  }

  getAuthContext(): ReturnType<ChannelCall['getAuthContext']> {
    return this.call.getAuthContext();
  }
}
