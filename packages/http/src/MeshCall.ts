import type { Dispatcher } from 'undici';
import {
  MeshCallError,
  type AttemptRequest,
  type AttemptTransport,
  type CallEngine,
  type LocalReply,
  type TargetSnapshot,
} from '@meshlet/core';
import type { CommittableResponse } from './CommittableResponse.js';
import { LocalResponse } from './LocalResponse.js';
import { ReplayableBody } from './ReplayableBody.js';
import { RequestHeaders } from './RequestHeaders.js';
import { UpstreamAttempt } from './UpstreamAttempt.js';
import type { UpstreamPools } from './UpstreamPools.js';

export interface MeshCallOptions {
  readonly engine: CallEngine;
  /** 'response' (default): failures become Envoy-style local replies (503 UH, 404 NR...). 'error': the request fails with a MeshCallError. */
  readonly localReplies: 'response' | 'error';
  readonly maxReplayBodyBytes: number;
  /** When set, attempts tell the pools which cluster an endpoint belongs to (protocol, limits). */
  readonly pools?: UpstreamPools;
}

/**
 * One logical HTTP request through the mesh: the AttemptTransport the call
 * engine drives, and the controller the caller's handler sees (its pause,
 * resume and abort act on whichever attempt is current).
 */
export class MeshCall implements AttemptTransport<CommittableResponse>, Dispatcher.DispatchController {
  private readonly abortController = new AbortController();
  private readonly headers: RequestHeaders;
  private body!: ReplayableBody;
  private current: UpstreamAttempt | undefined;
  private snapshot!: TargetSnapshot;
  private _paused = false;

  constructor(
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly dispatch: Dispatcher['dispatch'],
    private readonly options: MeshCallOptions,
  ) {
    this.headers = new RequestHeaders(opts.headers as ConstructorParameters<typeof RequestHeaders>[0]);
  }

  // ---- DispatchController for the caller's handler

  get aborted(): boolean {
    return this.abortController.signal.aborted;
  }
  get paused(): boolean {
    return this._paused;
  }
  get reason(): Error | null {
    return this.aborted ? (this.abortController.signal.reason as Error) : null;
  }
  abort(reason: Error): void {
    this.abortController.abort(reason);
  }
  pause(): void {
    this._paused = true;
    this.current?.upstream?.pause();
  }
  resume(): void {
    this._paused = false;
    this.current?.upstream?.resume();
  }

  // ---- the logical call

  async run(snapshot: TargetSnapshot, authority: string): Promise<void> {
    this.snapshot = snapshot;
    this.handler.onRequestStart?.(this, {});
    if (this.aborted) return;
    let response: CommittableResponse;
    try {
      this.body = await ReplayableBody.from(this.opts.body, this.options.maxReplayBodyBytes);
      const view = {
        authority: this.headers.get('host') ?? authority,
        path: this.opts.path,
        method: this.opts.method,
        headers: this.headers,
        isGrpc: (this.headers.get('content-type') ?? '').startsWith('application/grpc'),
      };
      response = await this.options.engine.execute(snapshot, { view, replayable: this.body.replayable, signal: this.abortController.signal }, this);
    } catch (err) {
      if (err instanceof MeshCallError && this.options.localReplies === 'response' && !this.aborted) {
        response = new LocalResponse(err.localReply, `${err.message}\n`);
      } else {
        this.handler.onResponseError?.(this, err as Error);
        return;
      }
    }
    response.commit(this.handler, this);
  }

  send(attempt: AttemptRequest): Promise<CommittableResponse> {
    return new Promise<CommittableResponse>((resolve, reject) => {
      const headers = this.headers.clone();
      attempt.headerMutation.applyToRequest(headers);
      headers.set('host', attempt.authority);
      if (attempt.includeAttemptCount) headers.set('x-envoy-attempt-count', String(attempt.attemptCount));
      if (attempt.expectedTimeoutMs !== undefined) headers.set('x-envoy-expected-rq-timeout-ms', String(Math.ceil(attempt.expectedTimeoutMs)));
      const upstream = new UpstreamAttempt(resolve, reject, attempt.signal, attempt.headerMutation);
      this.current = upstream;
      const host = attempt.host;
      const address = host.address.includes(':') ? `[${host.address}]` : host.address;
      const origin = `http://${address}:${host.port}`;
      const cluster = this.options.pools && this.snapshot.cluster(attempt.cluster);
      if (cluster) this.options.pools!.note(origin, cluster.cluster);
      try {
        this.dispatch(
          {
            ...this.opts,
            origin,
            path: attempt.path,
            headers: headers.toFlat(),
            body: this.body.take(),
          },
          upstream,
        );
      } catch (err) {
        reject(err as Error);
      }
      if (this._paused) upstream.upstream?.pause();
    });
  }

  localReply(reply: LocalReply): CommittableResponse {
    return new LocalResponse(reply);
  }
}
