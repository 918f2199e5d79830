import { connectivityState as ConnectivityState, credentials as grpcCredentials, propagate, status as Status, type ChannelCredentials, type ChannelInterface, type ChannelOptions } from '@grpc/grpc-js';
import {
  CallEngine,
  MeshTracing,
  combineObservers,
  istioPeerMetadataHeaders,
  routingDebugObserver,
  type AttemptHeaderOptions,
  type CallObserver,
  type CertificateProviderRegistry,
  type IstioMetrics,
  type Mesh,
  type TargetSnapshot,
  type WorkloadIdentity,
} from '@meshlet/core/client';
import type { Logger } from '@meshlet/xds-client';
import { AttemptMetadata } from './AttemptMetadata.js';
import { MAX_TIMER_MS, deadlineMs, type ChannelCall, type Deadline } from './ChannelCall.js';
import { EndpointChannelPool } from './EndpointChannelPool.js';
import { EndpointCredentials } from './EndpointCredentials.js';
import { MeshClientCall } from './MeshClientCall.js';
import { meshTargetOf, type ListenerNaming } from './MeshTarget.js';

export interface MeshChannelOptions {
  /** The shared Mesh (one per process, shared with @meshlet/http). Not closed by the channel. */
  readonly mesh: Mesh;
  /**
   * How `xds:` targets name Listeners (gRFC A47 templates and authorities). Default: the
   * bootstrap of the XdsClient feeding the Mesh, if it is one.
   */
  readonly bootstrap?: ListenerNaming;
  /**
   * Credentials of the channels to endpoints whose cluster selects no transport socket (or
   * raw_buffer); default insecure (plaintext, as istiod's proxyless clients without mTLS).
   */
  readonly credentials?: ChannelCredentials;
  /**
   * Certificate providers (gRFC A29; e.g. `CertificateProviderRegistry.fromBootstrap` for
   * istio-agent's `file_watcher`) for clusters whose transport_socket is an UpstreamTlsContext.
   * Without them such endpoints fail closed (UF) unless the context's material is inline. Not
   * closed by the channel.
   */
  readonly certificateProviders?: CertificateProviderRegistry;
  /** grpc-js options of the per-endpoint channels (keepalive, message sizes...; channelz is off unless `grpc.enable_channelz` is 1). */
  readonly channelOptions?: ChannelOptions;
  readonly observer?: CallObserver;
  /**
   * OpenTelemetry tracing through the global TracerProvider, as for HTTP: an INTERNAL span per
   * call and a CLIENT span per attempt (OTel RPC conventions), and each attempt's trace context
   * (global propagator: W3C by default, B3 when registered) and x-request-id in its metadata.
   * On by default (no-op spans until the app registers an SDK); `new MeshTracing({ attemptSpans:
   * false })` when the app's grpc-js instrumentation makes per-attempt spans, `false` for none.
   */
  readonly tracing?: MeshTracing | false;
  /**
   * Istio standard metrics (istio_requests_total, istio_request_duration_milliseconds,
   * istio_request_bytes, istio_response_bytes, meshlet_retries_total), as for HTTP. Build it with
   * `requestProtocol: 'grpc'` so request_protocol reads grpc, as a sidecar reports gRPC traffic.
   */
  readonly metrics?: IstioMetrics;
  /** This workload, announced with Istio's x-envoy-peer-metadata headers in every attempt's metadata, so sidecars label us. */
  readonly peerMetadata?: WorkloadIdentity;
  /**
   * Where MESHLET_DEBUG=routing explains each call (route, cluster, endpoints, attempts, retry
   * reasons, flags), as for HTTP; default stderr. Without the switch nothing is logged.
   */
  readonly logger?: Logger;
  /**
   * Request bytes kept per call so a retry can replay them (gRFC A44); past it the call is
   * not retried. Default 256 KiB, grpc-js's `grpc.per_rpc_retry_buffer_size` default.
   */
  readonly retryBufferBytes?: number;
}

type ChannelzRef = ReturnType<ChannelInterface['getChannelzRef']>;
type ParentCall = Parameters<ChannelInterface['createCall']>[3];

let nextChannelId = 1;
let nextCallNumber = 1;

/**
 * A grpc-js Channel (the public `grpc.ChannelInterface`, passed to any Client as
 * `channelOverride`) that routes every call through the Mesh: route match, weighted
 * clusters, fault injection, circuit breaking, host pick, retries and timeouts come from
 * the target's xDS snapshot via the shared CallEngine, and each attempt goes to the
 * picked endpoint over a pooled per-endpoint grpc-js Channel. It registers no resolver or
 * LB policy, so it coexists with @grpc/grpc-js-xds in one process.
 */
export class MeshChannel implements ChannelInterface {
  readonly mesh: Mesh;
  /** The listener name, `host:port`. */
  readonly target: string;
  readonly engine: CallEngine;
  /** The same engine without the tracing observer, for calls made while no OpenTelemetry SDK records (MeshTracing.recording). */
  readonly untracedEngine: CallEngine;
  /** Spans and trace context for this channel's calls; undefined when tracing is off. */
  readonly tracing: MeshTracing | undefined;
  /** Added to every attempt's metadata (peer metadata headers), computed once per channel. */
  readonly attemptHeaders: AttemptHeaderOptions;
  readonly endpoints: EndpointChannelPool;
  /** Per-endpoint transport (plaintext or mTLS) from the cluster's transport socket. */
  readonly transports: EndpointCredentials;
  readonly retryBufferBytes: number;
  /** @internal Decorates each attempt's metadata in the caller's object and restores it after the start (no copy per attempt). */
  readonly attemptMetadata = new AttemptMetadata();
  /** What calls send as :authority and route on: the name part of the channel target. */
  readonly authority: string;
  private readonly channelTarget: string;
  private readonly channelzRef: ChannelzRef;
  private lastSnapshotVersion = -1;
  /** The hosts list of each cluster of that snapshot, in its clusterNames order (compared per call: no Map lookup). */
  private lastHosts: readonly (readonly unknown[] | undefined)[] = [];
  private closed = false;

  constructor(target: string, options: MeshChannelOptions) {
    this.channelTarget = target;
    this.target = meshTargetOf(target, options.bootstrap ?? bootstrapOf(options.mesh));
    // The data-plane :authority is the target's name (`host:port`), never an xdstp:// Listener name (gRFC A47).
    this.authority = target.replace(/^xds:(\/\/[^/]*\/)?\/*/i, '');
    this.mesh = options.mesh;
    this.tracing = options.tracing === false ? undefined : (options.tracing ?? new MeshTracing());
    // routingDebugObserver is undefined unless MESHLET_DEBUG includes `routing`: normal calls pay nothing.
    const others = [options.metrics, options.observer, routingDebugObserver(options.mesh, options.logger)].filter((o) => o !== undefined);
    const observers = this.tracing === undefined ? others : [this.tracing, ...others];
    const observer = observers.length <= 1 ? observers[0] : combineObservers(...observers);
    this.attemptHeaders = { peerMetadata: options.peerMetadata === undefined ? undefined : istioPeerMetadataHeaders(options.peerMetadata) };
    this.engine = new CallEngine({ kind: 'grpc', observer });
    this.untracedEngine =
      this.tracing === undefined ? this.engine : new CallEngine({ kind: 'grpc', observer: others.length <= 1 ? others[0] : combineObservers(...others) });
    this.endpoints = new EndpointChannelPool(options.channelOptions);
    // Certificate files are read when the channel is created, not at the first mTLS call.
    options.certificateProviders?.startAll();
    this.transports = new EndpointCredentials(options.credentials ?? grpcCredentials.createInsecure(), options.certificateProviders);
    this.retryBufferBytes = options.retryBufferBytes ?? 256 * 1024;
    this.channelzRef = { kind: 'channel', id: nextChannelId++, name: `meshlet:${this.target}` } as ChannelzRef;
  }

  createCall(method: string, deadline: Deadline, _host: string | null | undefined, parentCall: ParentCall, propagateFlags: number | null | undefined): ChannelCall {
    if (this.closed) throw new Error('meshlet: Channel has been shut down');
    const flags = propagateFlags ?? propagate.DEFAULTS;
    let until = deadlineMs(deadline);
    if (parentCall !== null && flags & propagate.DEADLINE) until = Math.min(until, deadlineMs(parentCall.getDeadline()));
    const call = new MeshClientCall(this, method, until, nextCallNumber++);
    if (parentCall !== null && flags & propagate.CANCELLATION) {
      parentCall.on('cancelled', () => call.cancelWithStatus(Status.CANCELLED, 'Cancelled by parent call'));
    }
    return call;
  }

  getTarget(): string {
    return this.channelTarget;
  }

  getConnectivityState(_tryToConnect: boolean): ConnectivityState {
    if (this.closed) return ConnectivityState.SHUTDOWN;
    // Looking the target up starts its resolution, which is what tryToConnect asks for.
    const state = this.mesh.state(this.target);
    if (state.kind === 'ready') return ConnectivityState.READY;
    if (state.kind === 'pending') return ConnectivityState.CONNECTING;
    return ConnectivityState.TRANSIENT_FAILURE;
  }

  watchConnectivityState(currentState: ConnectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    const check = (): boolean => {
      if (this.getConnectivityState(false) === currentState) return false;
      callback();
      return true;
    };
    if (this.closed) throw new Error('meshlet: Channel has been shut down');
    const wait = Math.max(0, deadlineMs(deadline) - Date.now());
    if (currentState === ConnectivityState.CONNECTING || currentState === ConnectivityState.IDLE) {
      // The only transition the mesh reports as it happens: config arriving for the target.
      void this.mesh.resolve(this.target, wait).then(() => {
        if (!check()) callback(new Error('Deadline passed without connectivity state change'));
      });
      return;
    }
    if (check() || wait > MAX_TIMER_MS) return;
    setTimeout(() => {
      if (!check()) callback(new Error('Deadline passed without connectivity state change'));
    }, wait).unref?.();
  }

  getChannelzRef(): ChannelzRef {
    return this.channelzRef;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endpoints.close();
  }

  /**
   * @internal Called per call: on a new snapshot, or new endpoints in one of its clusters (EDS
   * updates apply in place, without a new snapshot), closes channels to endpoints the target no
   * longer has. Per call this is one comparison per cluster of the target.
   */
  sawSnapshot(snapshot: TargetSnapshot): void {
    const names = snapshot.clusterNames;
    let changed = snapshot.version !== this.lastSnapshotVersion;
    if (!changed) {
      for (let i = 0; i < names.length; i++) {
        if (snapshot.cluster(names[i]!)?.hosts() !== this.lastHosts[i]) {
          changed = true;
          break;
        }
      }
    }
    if (!changed) return;
    this.lastSnapshotVersion = snapshot.version;
    this.lastHosts = names.map((name) => snapshot.cluster(name)?.hosts());
    this.retainLiveEndpoints(snapshot);
  }

  /**
   * Closes channels to endpoints no cluster of the target has, or whose transport config
   * changed (they close when their last attempt ends).
   */
  retainLiveEndpoints(snapshot: TargetSnapshot): void {
    const live = new Set<string>();
    const slots = new Set<string>();
    for (const name of snapshot.clusterNames) {
      const cluster = snapshot.cluster(name);
      if (cluster === undefined) continue;
      for (const host of cluster.hosts()) {
        const slot = this.transports.slotFor(cluster.cluster, host.metadata);
        slots.add(slot);
        live.add(EndpointChannelPool.keyOf(host.key, slot));
      }
    }
    this.endpoints.retainOnly(live);
    this.transports.retainSlots(slots);
  }
}

/**
 * A MeshChannel for `target` (`xds:///host:port` or `host:port`), once the target's
 * config has arrived or the Mesh's resolve timeout has passed (calls made before config
 * arrives wait for it anyway).
 */
export async function createMeshChannel(target: string, options: MeshChannelOptions): Promise<MeshChannel> {
  const channel = new MeshChannel(target, options);
  await options.mesh.resolve(channel.target);
  return channel;
}

/** The bootstrap of the Mesh's source when it is an XdsClient (duck-typed: any source with one). */
function bootstrapOf(mesh: Mesh): ListenerNaming | undefined {
  const source = mesh.source as { bootstrap?: ListenerNaming };
  return source.bootstrap;
}
