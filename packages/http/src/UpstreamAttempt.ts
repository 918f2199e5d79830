import type { IncomingHttpHeaders } from 'node:http';
import { util, type Dispatcher } from 'undici';
import { AttemptError, NO_STREAM_STATUS, tellStreamEnd, type AttemptRequest, type AttemptSettler, type HeaderLookup, type HeaderMutation, type StreamEndListener } from '@meshlet/core/client';
import type { CallerHandler, CommittableResponse } from './CommittableResponse.js';
import { ResponseHeaders, rawEntries, rawValue } from './ResponseHeaders.js';
import type { EndpointLoad } from './UpstreamPools.js';

const enum State {
  Waiting, // no response head yet
  Held, // head received; the engine has not decided yet: buffer body events
  Discarded, // the engine retries instead: drop everything
  // (the committed states last: `state >= State.Committed`)
  Committed, // forwarding to the caller's handler in undici's current API (the sink)
  // (In the two legacy states the call's `handler` is its legacy caller handler.)
  /** Committed to the call's legacy caller handler, unchanged headers, after body had arrived: forwarding with the call's pause and resume. */
  Legacy,
  /** Committed to a legacy caller handler as the head came: the handler's answers pause undici, its resume is undici's own. */
  Direct,
}

/** undici's raw header lists: [name, value, ...] as Buffers (a repeated header's value may be a list). */
type RawHeaders = Buffer[] | (Buffer | Buffer[])[];

const NO_TRAILERS: Buffer[] = [];

/**
 * What reached an attempt while its response head waited for the engine's decision (State.Held): body
 * chunks, and how the response ended if it did. The engine usually decides as the head arrives, so this is
 * made for few responses, and the attempt keeps one field for it instead of three.
 */
class HeldResponse {
  readonly chunks: Buffer[] = [];
  /** The trailers, once the response completed while held. */
  trailers: RawHeaders | undefined = undefined;
  /** Why the response failed while held. */
  failed: Error | undefined = undefined;
}

/** UpstreamAttempt.streamListener once the response stream has ended. */
const STREAM_ENDED: StreamEndListener = Object.freeze({ streamEnded() {} });

/**
 * A second listener of one response stream (a call span's backstop: rare), told after the first. Its own
 * function: a closure written inline in onStreamEnd would make V8 allocate its context on every call.
 */
function bothStreamEnds(first: StreamEndListener, second: StreamEndListener): StreamEndListener {
  return (end) => (tellStreamEnd(first, end), tellStreamEnd(second, end));
}

/** The resume handed on when undici gave none (a response whose head came through no undici client). */
function noResume(): void {}

/** Errors that mean the TCP/TLS connection was never established (Envoy: connect-failure). */
const CONNECT_CODES = new Set(['MESHLET_TLS', 'ECONNREFUSED', 'ECONNRESET_BEFORE_CONNECT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

function classify(err: Error & { code?: string }): AttemptError {
  if (err instanceof AttemptError) return err;
  const code = err.code ?? '';
  if (CONNECT_CODES.has(code)) {
    return new AttemptError('connect-failure', `connect failure: ${err.message}`, false, { cause: err });
  }
  if (code === 'UND_ERR_H2_REFUSED_STREAM' || /REFUSED_STREAM/.test(err.message)) {
    return new AttemptError('refused-stream', err.message, false, { cause: err });
  }
  return new AttemptError('reset', `upstream reset: ${err.message}`, true, { cause: err });
}

/**
 * The call an attempt is made for: told why the attempt got no response (it appends that to its local
 * reply), and, when the engine commits the attempt's response to it, the caller's handler and the
 * controller that handler sees.
 */
export interface AttemptCaller extends CallerHandler, Dispatcher.DispatchController {
  noteAttemptError(err: Error): void;
}

/**
 * One attempt's undici handler and, once headers arrive, its response. The head
 * is handed to the call engine; body events are held until the engine either
 * commits the response (they are replayed into the caller's handler, then
 * streamed through) or discards it for a retry (the upstream request is aborted
 * unless it already finished, so the connection is reused when it can be).
 *
 * It speaks undici's legacy handler callbacks (onConnect, onHeaders with the raw
 * header list, onData, onComplete, onError), the ones undici 7's Client calls:
 * a handler of the current API is wrapped per request in an adapter and a
 * controller, and its headers parsed into an object. Here the raw list is kept
 * as read and parsed only if something reads `headers` (a retry policy looking
 * at response headers, a header mutation, a caller handler of the current API);
 * a legacy caller handler (undici.request, fetch) gets the raw list itself.
 * Interceptors composed below the mesh still see the current API: undici's
 * compose() wraps legacy handlers for them.
 */
export class UpstreamAttempt implements Dispatcher.DispatchHandler, CommittableResponse {
  status = 0;
  private statusMessage = '';
  private state = State.Waiting;
  /** undici's abort for this request (onConnect). */
  private abortUpstream: ((reason?: Error) => void) | undefined;
  /** undici's resume after onHeaders/onData returned false. */
  private resumeUpstream: (() => void) | undefined;
  private paused = false;
  /** What came while the response was held (State.Held): made on the first such event, rare (see HeldResponse). */
  private held: HeldResponse | undefined;
  /** Set when committed in undici's current API (State.Committed). */
  private sink: Dispatcher.DispatchHandler | undefined;
  /**
   * The head's raw header list as undici read it (`headers` looks into it, parsing only if it must), until
   * something needs the headers as an object (responseHeaders(): a response header mutation, a caller handler
   * of undici's current API); then the ResponseHeaders made from it, which lookups go to. One field for the
   * two: a response committed as it came to a legacy caller handler keeps its raw list.
   */
  private head: RawHeaders | ResponseHeaders | undefined;
  /**
   * Told when the response stream ends (body complete, failed, or discarded): the engine's max_requests slot
   * is held until then (Envoy holds it for the stream's life). Its one listener (the engine's call) is kept
   * here, not in a StreamCompletion object per attempt; STREAM_ENDED once it has ended.
   */
  private streamListener: StreamEndListener | undefined;
  /** Why the engine stopped this attempt (per-try/route timeout, caller cancel), once it has. */
  private stopped: Error | undefined;
  /** The attempt's AbortSignal, when its request has no onStop (this object is then its listener: handleEvent). */
  private readonly signal: AbortSignal | undefined;
  /** The endpoint load this attempt counts in until its stream ends (UpstreamPools.wouldQueue). */
  private load: EndpointLoad | undefined;
  /** Response body bytes received (Istio's response_bytes when this attempt's response is the caller's). */
  receivedBytes = 0;

  constructor(
    /** The engine's attempt (or a Promise's settle functions): told of the head or the failure, once. */
    private readonly settler: AttemptSettler<UpstreamAttempt>,
    /** The call: the caller's handler and controller a response is committed to (one field for the two: 8 bytes each). */
    private readonly call: AttemptCaller,
    attempt: Pick<AttemptRequest, 'signal' | 'onStop'>,
    /** response_headers_to_add/remove of the route levels, applied when the response is committed. */
    private readonly mutation: HeaderMutation,
  ) {
    if (attempt.onStop !== undefined) {
      // The engine's own attempts: no AbortSignal needed. It stops an attempt only before its response head.
      // This object is the listener (attemptStopped): no closure per attempt.
      attempt.onStop(this);
    } else {
      const signal = attempt.signal;
      this.signal = signal;
      if (signal.aborted) this.stopped = signal.reason as Error;
      else signal.addEventListener('abort', this, { once: true });
    }
  }

  /**
   * AttemptResponse.headers, the engine's HeaderLookup: this object itself, so that the lookups the retry
   * policy makes on every response (x-envoy-ratelimited, grpc-status) scan the raw list without a view
   * object per response. Once the view exists (a response header mutation, a caller handler of undici's
   * current API), lookups go to it.
   */
  get headers(): HeaderLookup {
    return this;
  }

  get(name: string): string | undefined {
    const head = this.head;
    return head instanceof ResponseHeaders ? head.get(name) : rawValue(head ?? NO_TRAILERS, name);
  }

  repeatedValues(name: string): readonly string[] | undefined {
    const head = this.head;
    return head instanceof ResponseHeaders ? head.repeatedValues(name) : rawEntries(head ?? NO_TRAILERS, name);
  }

  /** The response headers as the route's response header mutation and undici's current API see them. */
  private responseHeaders(): ResponseHeaders {
    const head = this.head;
    return head instanceof ResponseHeaders ? head : (this.head = new ResponseHeaders(undefined, head ?? NO_TRAILERS));
  }

  /** Counts this attempt in its endpoint's in-flight requests until its stream ends. */
  occupy(load: EndpointLoad): void {
    load.inFlight++;
    this.load = load;
  }

  /** Leaves the endpoint's in-flight count (once): the stream ended, or the dispatch failed. */
  leave(): void {
    const load = this.load;
    if (load === undefined) return;
    this.load = undefined;
    load.inFlight--;
  }

  /** The attempt failed before any response head: the call notes why, the engine is told. */
  fail(err: Error): void {
    this.call.noteAttemptError(err);
    this.settler.rejected(err);
  }

  /** The attempt's AbortSignal fired (an EventListener object, not a closure: see CallEngine's Call.subscribed). */
  handleEvent(): void {
    this.stop(this.signal!.reason as Error);
  }

  /** AttemptStopListener: the engine stopped this attempt (per-try/route timeout, caller cancel). */
  attemptStopped(reason: Error): void {
    this.stop(reason);
  }

  private stop(reason: Error): void {
    this.stopped = reason;
    this.abortUpstream?.(reason);
  }

  // ---- the caller's pause/resume/abort, on the upstream request

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeUpstream?.();
  }

  abort(reason: Error): void {
    this.abortUpstream?.(reason);
  }

  // ---- undici handler (upstream side, legacy callbacks)

  onConnect(abort: (reason?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.stopped !== undefined) abort(this.stopped);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string): boolean {
    this.resumeUpstream = resume;
    this.head = rawHeaders;
    this.status = statusCode;
    this.statusMessage = statusMessage ?? '';
    this.state = State.Held;
    this.settler.resolved(this);
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    this.receivedBytes += chunk.length;
    const state = this.state;
    if (state === State.Direct) return this.call.handler.onData?.(chunk) !== false;
    if (state >= State.Committed) this.forwardData(chunk);
    else if (state === State.Held) (this.held ??= new HeldResponse()).chunks.push(chunk);
    return !this.paused;
  }

  onComplete(rawTrailers: string[] | null): void {
    this.signal?.removeEventListener('abort', this);
    this.leave();
    this.endStream();
    // (undici types the legacy trailers as string[]; it passes the Buffers it read.)
    const trailers = rawTrailers ? (rawTrailers as unknown as Buffer[]) : NO_TRAILERS;
    const state = this.state;
    if (state >= State.Committed) this.forwardEnd(trailers);
    else if (state === State.Held) (this.held ??= new HeldResponse()).trailers = trailers;
  }

  onError(err: Error): void {
    this.signal?.removeEventListener('abort', this);
    this.leave();
    this.endStream();
    if (this.state === State.Waiting) this.fail(classify(err));
    else if (this.state >= State.Committed) this.forwardError(err);
    else if (this.state === State.Held) (this.held ??= new HeldResponse()).failed = err;
  }

  // ---- AttemptResponse (engine side)

  discard(): void {
    if (this.state !== State.Held) return;
    this.state = State.Discarded;
    this.held = undefined;
    // Unless the response already ended (complete or failed): then the connection is reused as it is.
    if (this.streamListener !== STREAM_ENDED) this.abortUpstream?.(new Error('meshlet: attempt discarded for a retry'));
    this.leave();
    this.endStream();
  }

  onStreamEnd(callback: StreamEndListener): void {
    const listener = this.streamListener;
    if (listener === STREAM_ENDED) tellStreamEnd(callback, NO_STREAM_STATUS);
    else this.streamListener = listener === undefined ? callback : bothStreamEnds(listener, callback);
  }

  /** The response stream ended (once): its listeners are told. */
  private endStream(): void {
    const listener = this.streamListener;
    if (listener === STREAM_ENDED) return;
    this.streamListener = STREAM_ENDED;
    if (listener !== undefined) tellStreamEnd(listener, NO_STREAM_STATUS);
  }

  /** Commits to the call the attempt was made for (the engine commits a call's own attempts only). */
  commit(): void {
    const call = this.call;
    const legacy = call.legacy;
    const held = this.held;
    this.held = undefined;
    if (legacy !== undefined && this.mutation.isEmpty) {
      // Unchanged headers to a legacy handler: the raw list as read, not parsed headers converted back
      // to Buffers by an adapter (which the caller's handler then parses once more). (`head` is still the
      // raw list here: only the other branch makes the ResponseHeaders.)
      const raw = this.head as Buffer[];
      this.state = State.Legacy;
      if (held === undefined || held.chunks.length === 0) {
        // Committed before any body arrived (the usual case: the engine decides as the head arrives). The
        // handler then pauses and resumes undici itself: its answers to onHeaders and onData go back to
        // undici as they are, with undici's own resume, so no resume closure is made per response.
        this.state = State.Direct;
        this.paused = legacy.onHeaders?.(this.status, raw, this.resumeUpstream ?? noResume, this.statusMessage) === false;
      } else if (legacy.onHeaders?.(this.status, raw, () => call.resume(), this.statusMessage) === false) call.pause();
    } else {
      this.state = State.Committed;
      const handler = call.modern();
      this.sink = handler;
      const headers = this.responseHeaders();
      this.mutation.applyToResponse(headers);
      handler.onResponseStart?.(call, this.status, headers.headers, this.statusMessage);
    }
    if (held === undefined) return;
    for (const chunk of held.chunks) this.forwardData(chunk);
    if (held.trailers !== undefined) this.forwardEnd(held.trailers);
    else if (held.failed !== undefined) this.forwardError(held.failed);
  }

  private forwardData(chunk: Buffer): void {
    if (this.state === State.Committed) this.sink!.onResponseData?.(this.call, chunk);
    else if (this.call.handler.onData?.(chunk) === false) this.call.pause();
  }

  private forwardEnd(trailers: RawHeaders): void {
    if (this.state === State.Committed) this.sink!.onResponseEnd?.(this.call, util.parseHeaders(trailers as Buffer[]));
    // (undici types the legacy trailers as string[]; undici itself passes Buffers, as read.)
    else this.call.handler.onComplete?.(trailers as unknown as string[]);
  }

  private forwardError(err: Error): void {
    if (this.state === State.Committed) this.sink!.onResponseError?.(this.call, err);
    else this.call.handler.onError?.(err);
  }
}
