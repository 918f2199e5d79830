import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { AttemptError, StreamCompletion, type AttemptRequest, type AttemptSettler, type HeaderMutation, type StreamEnd } from '@meshlet/core';
import type { CommittableResponse } from './CommittableResponse.js';
import { ResponseHeaders } from './ResponseHeaders.js';
import type { EndpointLoad } from './UpstreamPools.js';

const enum State {
  Waiting, // no response head yet
  Held, // head received; the engine has not decided yet: buffer body events
  Committed, // forwarding to the caller's handler
  Discarded, // the engine retries instead: drop everything
}

/** undici's controller for a handler of its current API carries the raw lists it parsed (undici 7). */
interface RawHeadersController {
  readonly rawHeaders?: Buffer[] | null;
  readonly rawTrailers?: Buffer[] | null;
}

/** Parsed headers back to undici's raw list (only for trailers whose raw list was not kept). */
function rawHeaderList(headers: IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(Buffer.from(key, 'latin1'), Buffer.from(v, 'latin1'));
  }
  return raw;
}

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

/** Told why an attempt got no response (the call appends it to its local reply). */
export interface AttemptErrorNote {
  noteAttemptError(err: Error): void;
}

/**
 * One attempt's undici handler and, once headers arrive, its response. The head
 * is handed to the call engine; body events are held until the engine either
 * commits the response (they are replayed into the caller's handler, then
 * streamed through) or discards it for a retry (the upstream request is aborted
 * unless it already finished, so the connection is reused when it can be).
 */
export class UpstreamAttempt implements Dispatcher.DispatchHandler, CommittableResponse {
  status = 0;
  headers!: ResponseHeaders;
  private statusMessage = '';
  private state = State.Waiting;
  private controller: Dispatcher.DispatchController | undefined;
  private held: Buffer[] | undefined;
  private ended: IncomingHttpHeaders | undefined;
  private failed: Error | undefined;
  private sink: Dispatcher.DispatchHandler | undefined;
  /** Set when committed to a legacy caller handler: response events go to its legacy callbacks. */
  private legacy: Dispatcher.DispatchHandler | undefined;
  /** The head's raw header list as undici read it, when its controller exposes it. */
  private rawHeaders: Buffer[] | undefined;
  private rawTrailers: Buffer[] | undefined;
  private sinkController: Dispatcher.DispatchController | undefined;
  /** The response stream's end, for the engine's max_requests slot (Envoy holds it until then). */
  private readonly completion = new StreamCompletion();
  /** Why the engine stopped this attempt (per-try/route timeout, caller cancel), once it has. */
  private stopped: Error | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort: (() => void) | undefined;
  /** The endpoint load this attempt counts in until its stream ends (UpstreamPools.wouldQueue). */
  private load: EndpointLoad | undefined;
  /** Response body bytes received (Istio's response_bytes when this attempt's response is the caller's). */
  receivedBytes = 0;

  constructor(
    /** The engine's attempt (or a Promise's settle functions): told of the head or the failure, once. */
    private readonly settler: AttemptSettler<UpstreamAttempt>,
    private readonly note: AttemptErrorNote,
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
      this.onAbort = () => this.stop(signal.reason as Error);
      if (signal.aborted) this.stopped = signal.reason as Error;
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
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
    this.note.noteAttemptError(err);
    this.settler.rejected(err);
  }

  /** AttemptStopListener: the engine stopped this attempt (per-try/route timeout, caller cancel). */
  attemptStopped(reason: Error): void {
    this.stop(reason);
  }

  private stop(reason: Error): void {
    this.stopped = reason;
    this.controller?.abort(reason);
  }

  // ---- undici handler (upstream side)

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.stopped !== undefined) controller.abort(this.stopped);
  }

  onResponseStart(c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    // undici's adapter for handlers like this one keeps the raw list it parsed on the controller;
    // a legacy caller handler can take it as is (see commit). Without it, the parsed headers are used.
    this.rawHeaders = (c as RawHeadersController).rawHeaders ?? undefined;
    this.status = statusCode;
    this.headers = new ResponseHeaders(headers);
    this.statusMessage = statusMessage ?? '';
    this.state = State.Held;
    this.settler.resolved(this);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.receivedBytes += chunk.length;
    if (this.state === State.Committed) this.forwardData(chunk);
    else if (this.state === State.Held) (this.held ??= []).push(chunk);
  }

  onResponseEnd(c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort);
    this.leave();
    this.completion.complete();
    this.rawTrailers = (c as RawHeadersController).rawTrailers ?? undefined;
    if (this.state === State.Committed) this.forwardEnd(trailers);
    else this.ended = trailers;
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort);
    this.leave();
    this.completion.complete();
    if (this.state === State.Waiting) this.fail(classify(err));
    else if (this.state === State.Committed) this.forwardError(err);
    else this.failed = err;
  }

  // ---- AttemptResponse (engine side)

  discard(): void {
    if (this.state !== State.Held) return;
    this.state = State.Discarded;
    this.held = undefined;
    if (this.ended === undefined && this.failed === undefined) this.controller?.abort(new Error('meshlet: attempt discarded for a retry'));
    this.leave();
    this.completion.complete();
  }

  onStreamEnd(callback: (end: StreamEnd) => void): void {
    this.completion.onComplete(callback);
  }

  commit(handler: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController, legacy?: Dispatcher.DispatchHandler): void {
    this.state = State.Committed;
    this.sink = handler;
    this.sinkController = controller;
    if (legacy !== undefined && this.rawHeaders !== undefined && this.mutation.isEmpty) {
      // Unchanged headers to a legacy handler: the raw list as read, not parsed headers converted back
      // to Buffers by the handler's adapter (which the caller's handler then parses once more).
      this.legacy = legacy;
      if (legacy.onHeaders?.(this.status, this.rawHeaders, () => controller.resume(), this.statusMessage) === false) controller.pause();
    } else {
      this.mutation.applyToResponse(this.headers);
      handler.onResponseStart?.(controller, this.status, this.headers.headers, this.statusMessage);
    }
    const held = this.held;
    this.held = undefined;
    if (held) for (const chunk of held) this.forwardData(chunk);
    if (this.ended !== undefined) this.forwardEnd(this.ended);
    else if (this.failed !== undefined) this.forwardError(this.failed);
  }

  private forwardData(chunk: Buffer): void {
    const legacy = this.legacy;
    if (legacy === undefined) this.sink!.onResponseData?.(this.sinkController!, chunk);
    else if (legacy.onData?.(chunk) === false) this.sinkController!.pause();
  }

  private forwardEnd(trailers: IncomingHttpHeaders): void {
    const legacy = this.legacy;
    if (legacy === undefined) this.sink!.onResponseEnd?.(this.sinkController!, trailers);
    // (undici types the legacy trailers as string[]; undici itself passes Buffers, as read.)
    else legacy.onComplete?.((this.rawTrailers ?? rawHeaderList(trailers)) as unknown as string[]);
  }

  private forwardError(err: Error): void {
    const legacy = this.legacy;
    if (legacy === undefined) this.sink!.onResponseError?.(this.sinkController!, err);
    else legacy.onError?.(err);
  }

  /** The caller paused/resumed or aborted: act on the upstream request. */
  get upstream(): Dispatcher.DispatchController | undefined {
    return this.controller;
  }
}
