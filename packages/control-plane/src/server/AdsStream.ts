import type { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { AdsStreamEvent } from './AdsEvents.js';
import type { NodeMessage } from './DiscoveryMessages.js';
import type { ResourceStore } from './ResourceStore.js';

/** Which resources of one type an incremental server update touched. */
export interface ResourceChange {
  readonly names: readonly string[];
  /** true: the names were deleted; false: they were added or their content changed. */
  readonly removed: boolean;
}

/** What every stream shares with the server that owns it. */
export interface AdsStreamContext {
  readonly store: ResourceStore;
  readonly events: EventEmitter;
  /** Whether responses are currently held (AdsServer.pause). */
  isPaused(): boolean;
  /** Types for which an empty first subscription means "everything" (LDS, CDS: the legacy wildcard). */
  readonly wildcardTypes: ReadonlySet<string>;
  onOpened(stream: AdsStream<unknown, unknown>): void;
  onClosed(stream: AdsStream<unknown, unknown>): void;
}

let nextStreamId = 0;

/**
 * The transport half of one ADS stream, shared by the SotW and delta protocols: identity,
 * response holding for pause()/resume(), and a single idempotent close path whichever
 * side ends the call (client half-close, cancel, error, disconnectAll, server close).
 */
export abstract class AdsStream<Req, Res> {
  readonly id = ++nextStreamId;
  protected nodeId = '';
  protected node: NodeMessage | undefined;
  readonly #held: Res[] = [];
  #closed = false;

  constructor(
    protected readonly call: grpc.ServerDuplexStream<Req, Res>,
    protected readonly context: AdsStreamContext,
    readonly delta: boolean,
  ) {
    call.on('data', (request: Req) => {
      if (this.#closed) return;
      this.#rememberNode(request as { node?: NodeMessage });
      this.onRequest(request);
    });
    // The client half-closed: finish with OK, as Envoy's servers do.
    call.on('end', () => this.end());
    call.on('cancelled', () => this.#markClosed());
    call.on('error', () => this.#markClosed());
    call.on('close', () => this.#markClosed());
    this.context.onOpened(this as AdsStream<unknown, unknown>);
    this.context.events.emit('stream-open', this.#streamEvent());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The server's resources of this type changed. Without `change`, any of them may have
   * (setResources); with it, only the named ones were upserted or removed, and the stream
   * should do work in proportion to those names, not to everything it serves.
   */
  abstract resourcesChanged(typeUrl: string, change?: ResourceChange): void;

  protected abstract onRequest(request: Req): void;

  protected send(response: Res): void {
    if (this.#closed) return;
    if (this.context.isPaused()) this.#held.push(response);
    else this.call.write(response);
  }

  /** Writes responses held while the server was paused, in order. */
  flushHeld(): void {
    for (const response of this.#held.splice(0)) this.send(response);
  }

  /** Ends the call with OK (no status) or with the given status. */
  end(status?: { code: grpc.status; details: string }): void {
    if (this.#closed) return;
    this.#markClosed();
    if (status) this.call.emit('error', { code: status.code, details: status.details, metadata: new grpc.Metadata() });
    else this.call.end();
  }

  #rememberNode(request: { node?: NodeMessage }): void {
    // Only the first request of a stream has to carry `node` (xDS protocol), so keep it.
    if (request.node) {
      this.node = request.node;
      this.nodeId = request.node.id ?? '';
    }
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.length = 0;
    this.context.onClosed(this as AdsStream<unknown, unknown>);
    this.context.events.emit('stream-close', this.#streamEvent());
  }

  #streamEvent(): AdsStreamEvent {
    return { streamId: this.id, delta: this.delta, peer: safePeer(this.call), ...(this.nodeId ? { nodeId: this.nodeId } : {}) };
  }
}

function safePeer(call: grpc.ServerDuplexStream<unknown, unknown>): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}
