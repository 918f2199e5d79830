import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
  type AnyMessage,
} from '@meshlet/xds-client';
import { adsServiceDefinition } from './AdsServiceDefinition.js';
import type { AdsStream, AdsStreamContext, ResourceChange } from './AdsStream.js';
import { DeltaStream } from './DeltaStream.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './DiscoveryMessages.js';
import { ResourceStore } from './ResourceStore.js';
import { SotwStream } from './SotwStream.js';

export interface AdsServerOptions {
  /** Options for the underlying grpc-js Server. */
  grpcOptions?: grpc.ServerOptions;
  /**
   * Types whose empty first subscription means "all resources" (the legacy wildcard).
   * Default: Listener and Cluster, as in the xDS protocol.
   */
  wildcardTypeUrls?: readonly string[];
  /**
   * Called with the request metadata of every new ADS stream (SotW and delta), before it is
   * served: lets tests and local tools check what a client authenticates with (e.g. the
   * `authorization: Bearer` of a gRFC A97 call credential). Throwing does not reject the stream.
   */
  onStreamMetadata?: (metadata: grpc.Metadata) => void;
}

/** The resources of one snapshot, as plain snake_case proto objects. */
export interface AdsSnapshot {
  listeners?: object[];
  routes?: object[];
  clusters?: object[];
  endpoints?: object[];
}

type ResourceValue = AnyMessage | Record<string, unknown>;

/**
 * A real xDS management server (ADS over gRPC, SotW and delta) for local development,
 * examples and tests. It serves what it is given: no translation, no per-node snapshots.
 * Events (`request`, `ack`, `nack`, `stream-open`, `stream-close`) expose the protocol
 * exchange so tests can assert on what a client sent.
 */
export class AdsServer {
  readonly events = new EventEmitter();
  readonly #store = new ResourceStore();
  readonly #streams = new Set<AdsStream<unknown, unknown>>();
  readonly #options: AdsServerOptions;
  readonly #context: AdsStreamContext;
  #server: grpc.Server | undefined;
  #paused = false;

  constructor(options: AdsServerOptions = {}) {
    this.#options = options;
    const wildcardTypes = new Set(options.wildcardTypeUrls ?? [LISTENER_TYPE_URL, CLUSTER_TYPE_URL]);
    this.#context = {
      store: this.#store,
      events: this.events,
      wildcardTypes,
      isPaused: () => this.#paused,
      onOpened: (stream) => {
        this.#streams.add(stream);
      },
      onClosed: (stream) => {
        this.#streams.delete(stream);
      },
    };
  }

  /** Number of open ADS streams (SotW and delta). */
  get streamCount(): number {
    return this.#streams.size;
  }

  async listen(port = 0, host = '127.0.0.1', credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<{ port: number }> {
    if (this.#server) throw new Error('AdsServer is already listening');
    const server = new grpc.Server(this.#options.grpcOptions);
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        this.#reportMetadata(call.metadata);
        new SotwStream(call, this.#context);
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => {
        this.#reportMetadata(call.metadata);
        new DeltaStream(call, this.#context);
      },
    });
    this.#server = server;
    const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, credentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
    }).catch((error: unknown) => {
      this.#server = undefined;
      server.forceShutdown();
      throw error;
    });
    return { port: bound };
  }

  #reportMetadata(metadata: grpc.Metadata): void {
    try {
      this.#options.onStreamMetadata?.(metadata);
    } catch {
      // An observer's bug must not take the control plane down; the stream is served anyway.
    }
  }

  /**
   * Replaces all resources of one type. Values are encoded Anys or plain snake_case proto
   * objects (encoded with the type). Moves the type's SotW version (or sets options.version)
   * and pushes to every stream subscribed to the type.
   */
  setResources(typeUrl: string, resources: Record<string, ResourceValue>, options: { version?: string } = {}): void {
    this.#store.replace(typeUrl, resources, options.version);
    this.#notify(typeUrl);
  }

  /** Sets the four types at once; names come from `name` (`cluster_name` for endpoints). */
  setSnapshot(snapshot: AdsSnapshot, options: { version?: string } = {}): void {
    const byName = (items: object[], key: 'name' | 'cluster_name'): Record<string, ResourceValue> => {
      const out: Record<string, ResourceValue> = {};
      for (const item of items) {
        const name = (item as Record<string, unknown>)[key];
        if (typeof name !== 'string' || name === '') throw new TypeError(`snapshot resource without a ${key}`);
        out[name] = item as Record<string, unknown>;
      }
      return out;
    };
    // Encode everything before publishing anything, so a bad resource leaves the old snapshot whole.
    const staged = new ResourceStore();
    const parts: [string, object[] | undefined, 'name' | 'cluster_name'][] = [
      [CLUSTER_TYPE_URL, snapshot.clusters, 'name'],
      [CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, snapshot.endpoints, 'cluster_name'],
      [LISTENER_TYPE_URL, snapshot.listeners, 'name'],
      [ROUTE_CONFIGURATION_TYPE_URL, snapshot.routes, 'name'],
    ];
    for (const [typeUrl, items, key] of parts) if (items) staged.replace(typeUrl, byName(items, key));
    // Clusters and endpoints go first so a client following a new route finds its cluster
    // (the make-before-break order the xDS protocol recommends: CDS, EDS, LDS, RDS).
    for (const [typeUrl, items] of parts) {
      if (!items) continue;
      const resources: Record<string, AnyMessage> = {};
      for (const [name, stored] of staged.all(typeUrl)) resources[name] = stored.any;
      this.setResources(typeUrl, resources, options);
    }
  }

  /**
   * Adds or replaces some resources of one type and keeps the others. Only resources whose
   * encoded bytes changed count: if any did, the type's SotW version moves (or is set to
   * options.version) and each stream is told just those names. Delta streams send only them;
   * SotW streams send only them for RDS/EDS and the whole subscribed set for LDS/CDS. The
   * work is in proportion to the resources given, so one endpoint change among 10,000
   * clusters does not re-encode, re-hash or walk the rest (setResources does).
   */
  upsertResources(typeUrl: string, resources: Record<string, ResourceValue>, options: { version?: string } = {}): void {
    const changed = this.#store.upsert(typeUrl, resources, options.version);
    if (changed.length > 0) this.#notify(typeUrl, { names: changed, removed: false });
  }

  /** Deletes resources of one type by name, and pushes if any existed. */
  removeResources(typeUrl: string, names: string[]): void {
    const removed = this.#store.remove(typeUrl, names);
    if (removed.length > 0) this.#notify(typeUrl, { names: removed, removed: true });
  }

  /** Test hook: ends every open stream with UNAVAILABLE, as a control-plane restart would. */
  disconnectAll(): void {
    for (const stream of [...this.#streams]) stream.end({ code: grpc.status.UNAVAILABLE, details: 'AdsServer.disconnectAll' });
  }

  /** Test hook: hold every response (a hung server) until resume(). Requests are still read. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const stream of [...this.#streams]) stream.flushHeld();
  }

  /** Ends all streams and shuts the gRPC server down; resolves once its sockets are closed. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const stream of [...this.#streams]) stream.end({ code: grpc.status.UNAVAILABLE, details: 'AdsServer closed' });
    this.#streams.clear();
    if (!server) return;
    await new Promise<void>((resolve) => {
      // tryShutdown's callback fires once listeners and sessions are closed; forceShutdown
      // right after makes that immediate instead of waiting for clients to go away.
      server.tryShutdown(() => resolve());
      server.forceShutdown();
    });
  }

  #notify(typeUrl: string, change?: ResourceChange): void {
    for (const stream of [...this.#streams]) stream.resourcesChanged(typeUrl, change);
  }
}
