import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './GrpcJs.js';
import type { NodeConfig, XdsServerConfig } from '../bootstrap/Bootstrap.js';
import type { Logger } from '../client/Logger.js';
import { envoyRoot, TO_OBJECT, type AnyMessage } from '../proto/EnvoyProtos.js';
import { decodeResourceWire } from '../proto/DiscoveryResponseWire.js';
import { adsServiceClientConstructor, type AdsServiceClient } from './AdsServiceClient.js';
import { ExponentialBackoff, type BackoffOptions } from './Backoff.js';
import { channelCredentialsFor } from './ChannelCredentials.js';
import { describeRequest, describeResponse } from './DiscoveryTrace.js';
import {
  INVALID_ARGUMENT,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type DiscoveryResource,
} from './DiscoveryMessages.js';
import { nodeMessage } from './NodeMessage.js';
import { NO_ITEMS } from '../resources/common/SharedEmpties.js';

const RESOURCE_WRAPPER_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

/**
 * One resource as received, before validation: the shape of an envoy.service.discovery.v3.Resource
 * as the codec gives it, so a delta response's resources are used as they are, not copied.
 */
export interface ReceivedResource {
  /** Known for delta responses and for Resource-wrapped SotW entries; otherwise read from the body. */
  readonly name?: string;
  /** Delta (and wrapped SotW) per-resource version. */
  readonly version?: string;
  /** The resource itself, still encoded. */
  readonly resource?: AnyMessage;
}

const NO_RESOURCES: readonly ReceivedResource[] = NO_ITEMS;
const NO_NAMES: readonly string[] = NO_ITEMS;

/** One DiscoveryResponse or DeltaDiscoveryResponse, normalised. */
export interface ResourceUpdate {
  readonly server: XdsServerConfig;
  readonly typeUrl: string;
  /** SotW `version_info`, delta `system_version_info`. */
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly ReceivedResource[];
  /** Delta `removed_resources`; always empty for SotW. */
  readonly removed: readonly string[];
  /** SotW: for LDS/CDS, a subscribed resource missing from the response was deleted. */
  readonly stateOfTheWorld: boolean;
}

/** What the stream reports after answering a response with an ACK or a NACK. */
export interface ResponseOutcome {
  readonly server: XdsServerConfig;
  readonly typeUrl: string;
  /** The version the response carried. */
  readonly versionInfo: string;
  readonly nonce: string;
  /** One entry per rejected resource; empty for an ACK. */
  readonly errors: readonly string[];
}

/** The XdsClient side of a stream: what to subscribe to and what to do with responses. */
export interface AdsStreamHandler {
  /** The names this stream should be subscribed to, per type URL. */
  subscriptions(): ReadonlyMap<string, ReadonlySet<string>>;
  /** Versions of cached resources of a type, sent as delta `initial_resource_versions`. */
  cachedVersions(typeUrl: string, names: ReadonlySet<string>): Record<string, string>;
  /** Validates and applies one response; returns one message per rejected resource (empty: ACK). */
  onUpdate(update: ResourceUpdate): string[];
  /** A subscription to these names was written on the stream: start their does-not-exist timers. */
  onSubscribed(typeUrl: string, names: readonly string[]): void;
  onResponseHandled(outcome: ResponseOutcome): void;
  /**
   * gRFC A71: whether to move to the next server after a failed attempt, i.e. whether some
   * watched resource is not cached. Absent: always.
   */
  needsFallback?(): boolean;
  /** The first response arrived on a new stream. */
  onConnected(server: XdsServerConfig): void;
  /** The stream ended; it will be retried. `hadResponse` tells a broken stream from an unreachable server. */
  /** `retryInMs`: when the stream will be opened again (0: at once). */
  onDisconnected(server: XdsServerConfig, error: Error, hadResponse: boolean, retryInMs: number): void;
}

export interface AdsStreamOptions {
  /** The primary server first, then fallbacks (gRFC A71). */
  readonly servers: readonly XdsServerConfig[];
  readonly node: NodeConfig;
  /** Incremental xDS (DeltaAggregatedResources) instead of state of the world. */
  readonly delta: boolean;
  readonly handler: AdsStreamHandler;
  readonly logger: Logger;
  readonly backoff?: BackoffOptions;
  /** grpc-js channel options (e.g. `grpc.initial_reconnect_backoff_ms` for fast tests). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** How often a stream on a fallback server checks whether the primary is back (gRFC A71). Default 5 s. */
  readonly fallbackProbeIntervalMs?: number;
}

type Call = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

interface SotwTypeState {
  /** Last accepted version_info (sent back in ACKs, NACKs and subscription updates). */
  version: string;
  /** Nonce of the last response of this type on the current stream. */
  nonce: string;
}

/**
 * One ADS stream to one xDS server (with fallbacks), SotW or delta.
 *
 * Per the xDS protocol: the Node goes in the first request of each stream; every
 * response is answered with an ACK (version_info + nonce) or a NACK (previous
 * version + nonce + error_detail); subscription changes are sent on the open
 * stream. When the stream ends it is re-opened, immediately if it had delivered a
 * response, otherwise after a jittered exponential backoff, and every current
 * subscription is sent again (delta: with initial_resource_versions).
 */
export class AdsStream {
  private readonly options: AdsStreamOptions;
  private readonly clients: (AdsServiceClient | undefined)[];
  private readonly backoff: ExponentialBackoff;
  private serverIndex = 0;
  /** Set to switch servers when the current call ends (return to the primary, gRFC A71). */
  private pendingServerIndex: number | undefined;
  private call: Call | undefined;
  private callId = 0;
  private receivedResponse = false;
  private nodeSent = false;
  /** Names written on the current call, per type. */
  private readonly sent = new Map<string, Set<string>>();
  private readonly sotw = new Map<string, SotwTypeState>();
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /**
   * Servers left because they accepted the stream but answered nothing (see
   * fallBackFromSilentServer). A READY channel proves nothing about them, so going back needs a
   * response on a probe stream.
   */
  private readonly silent = new Set<number>();
  /** The probe stream to a silent primary, while on a fallback. */
  private probeCall: Call | undefined;
  /** Why the client itself is ending the current call, for the disconnect error. */
  private endReason: string | undefined;
  private closed = false;

  constructor(options: AdsStreamOptions) {
    if (options.servers.length === 0) throw new Error('AdsStream needs at least one xDS server');
    this.options = options;
    this.clients = options.servers.map(() => undefined);
    this.backoff = new ExponentialBackoff(options.backoff);
  }

  /** The server currently in use. */
  get server(): XdsServerConfig {
    return this.options.servers[this.serverIndex]!;
  }

  get delta(): boolean {
    return this.options.delta;
  }

  /** Types whose subscription changed this tick, sent together by flushSubscriptions(). */
  private dirtyTypes: Set<string> | undefined;

  /**
   * The handler's subscriptions for `typeUrl` changed: open the stream or send the change on it.
   * Changes made in the same tick are coalesced into one request per type, so a push that makes
   * the Mesh watch 10,000 clusters sends one CDS request, not 10,000 growing ones (each of which
   * the server would also have to answer).
   */
  subscriptionChanged(typeUrl: string): void {
    if (this.closed) return;
    if (this.dirtyTypes) {
      this.dirtyTypes.add(typeUrl);
      return;
    }
    this.dirtyTypes = new Set([typeUrl]);
    queueMicrotask(() => this.flushSubscriptions());
  }

  private flushSubscriptions(): void {
    const dirty = this.dirtyTypes;
    this.dirtyTypes = undefined;
    if (this.closed || !dirty) return;
    if (this.call) for (const typeUrl of dirty) this.sendSubscription(typeUrl);
    else if (!this.retryTimer) this.connect();
  }

  /** Ends the stream and releases the channels; no timer survives. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    this.retryTimer = this.probeTimer = undefined;
    this.closeProbeCall();
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    for (const client of this.clients) client?.close();
  }

  private clientFor(index: number): AdsServiceClient {
    let client = this.clients[index];
    if (!client) {
      const server = this.options.servers[index]!;
      const Ctor = adsServiceClientConstructor();
      client = new Ctor(server.server_uri, channelCredentialsFor(server.channel_creds, server.call_creds), { ...this.options.channelOptions });
      this.clients[index] = client;
    }
    return client;
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    const client = this.clientFor(this.serverIndex);
    const call: Call = this.options.delta ? client.DeltaAggregatedResources() : client.StreamAggregatedResources();
    const id = ++this.callId;
    this.call = call;
    this.receivedResponse = false;
    this.endReason = undefined;
    this.nodeSent = false;
    this.sent.clear();
    for (const state of this.sotw.values()) state.nonce = ''; // nonces are per stream
    call.on('data', (message: DiscoveryResponse | DeltaDiscoveryResponse) => {
      if (id === this.callId && !this.closed) this.onResponse(message);
    });
    // The final status is handled below; without an 'error' listener an ended call would throw.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => {
      if (id === this.callId) this.onCallEnded(status);
    });
    this.options.logger.debug('ADS stream opening', { server: this.server.server_uri, delta: this.options.delta });
    for (const typeUrl of this.options.handler.subscriptions().keys()) this.sendSubscription(typeUrl);
  }

  private onCallEnded(status: grpc.StatusObject): void {
    this.call = undefined;
    if (this.closed) return;
    const server = this.server;
    const hadResponse = this.receivedResponse;
    const ended = this.endReason ?? `${grpcJs().status[status.code] ?? status.code} ${status.details}`;
    this.endReason = undefined;
    const error = Object.assign(new Error(`ADS stream to ${server.server_uri} ended: ${ended}`), { code: status.code });
    const moving = this.pendingServerIndex !== undefined;
    // The server was reachable and talking: reconnect at once (gRFC A27) with a fresh backoff.
    if (!moving && hadResponse) this.backoff.reset();
    const delay = moving || hadResponse ? 0 : this.backoff.next();
    this.options.handler.onDisconnected(server, error, hadResponse, delay);
    if (moving) {
      this.switchServer(this.pendingServerIndex!);
    } else if (!hadResponse) {
      // gRFC A71: the current server is unreachable; try the next one in the bootstrap list, but
      // only if some watched resource is not cached: with everything cached the client keeps
      // using it and retries the same server (no fallback stampede on a primary restart).
      // Asked after the handler has heard of the loss, so it can fall back to its cache first.
      const fallback = this.serverIndex !== 0 || (this.options.handler.needsFallback?.() ?? true);
      if (this.options.servers.length > 1 && fallback) this.switchServer((this.serverIndex + 1) % this.options.servers.length);
    }
    this.options.logger.debug('ADS stream retry scheduled', { server: this.server.server_uri, delayMs: delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private switchServer(index: number): void {
    this.pendingServerIndex = undefined;
    if (index === this.serverIndex) return;
    this.serverIndex = index;
    // Versions are meaningful only to the server that issued them.
    this.sotw.clear();
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.closeProbeCall();
  }

  /**
   * Called by the XdsClient when a subscribed, uncached resource's does-not-exist timer (gRFC A27)
   * fires. If the current call has received no response at all, the server accepted the stream
   * but is silent (hung, or stuck before its first push): for fallback purposes it is treated as
   * failed, and the stream moves to the next server in the bootstrap list. Returns true when a
   * move is under way: the caller then gives no does-not-exist verdict (silence from a server
   * that answers nothing is no evidence of absence); the timers restart on the next server.
   *
   * This extends gRFC A71, which falls back only when the channel reports TRANSIENT_FAILURE or the
   * stream closes before its first response, so a hung primary would keep the client on it
   * forever. The rule stays conservative: only with a next server in the list (the last one gets
   * the normal verdict), only when this call has had no response of any type, and only for a
   * resource that is not cached (the caller's timer runs only for those), as A71 requires.
   */
  fallBackFromSilentServer(): boolean {
    if (this.closed || this.call === undefined) return false;
    if (this.pendingServerIndex !== undefined) return true; // a move (and so a re-subscription) is already under way
    if (this.receivedResponse || this.serverIndex >= this.options.servers.length - 1) return false;
    const from = this.server.server_uri;
    const to = this.options.servers[this.serverIndex + 1]!.server_uri;
    this.options.logger.warn('xDS server accepted the stream but sent no response within the does-not-exist timer; falling back', { server: from, fallback: to });
    this.silent.add(this.serverIndex);
    this.pendingServerIndex = this.serverIndex + 1;
    this.endReason = `no response within the does-not-exist timer; falling back to ${to}`;
    this.call.cancel();
    return true;
  }

  /**
   * While on a fallback, check the primary and go back when it can serve again (gRFC A71). A primary
   * that was unreachable is back when its channel is READY; one that was silent only when it
   * answers on a probe stream (its channel was READY all along).
   */
  private startPrimaryProbe(): void {
    if (this.serverIndex === 0 || this.probeTimer) return;
    const channel = this.clientFor(0).getChannel();
    this.probeTimer = setInterval(() => {
      if (this.serverIndex === 0) return;
      if (this.silent.has(0)) {
        this.probePrimaryStream();
        return;
      }
      // getConnectivityState(true) makes an idle channel try to connect.
      if (channel.getConnectivityState(true) !== grpcJs().connectivityState.READY) return;
      this.returnToPrimary('primary xDS server reachable again; leaving fallback');
    }, this.options.fallbackProbeIntervalMs ?? 5000);
    this.probeTimer.unref();
  }

  private returnToPrimary(message: string): void {
    this.options.logger.info(message, { server: this.options.servers[0]!.server_uri });
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.closeProbeCall();
    this.silent.delete(0);
    if (this.call) {
      this.pendingServerIndex = 0;
      this.endReason = 'returning to the primary xDS server';
      this.call.cancel();
    } else {
      // Between attempts: the scheduled retry connects to the primary.
      this.switchServer(0);
    }
  }

  /**
   * One ADS stream to the silent primary with the current subscriptions (a fresh stream's requests;
   * its answers are not applied, the real stream re-subscribes after the switch). It stays open
   * while the primary stays silent, so probing costs one idle stream, not one per tick.
   */
  private probePrimaryStream(): void {
    if (this.probeCall) return;
    const client = this.clientFor(0);
    const call: Call = this.options.delta ? client.DeltaAggregatedResources() : client.StreamAggregatedResources();
    this.probeCall = call;
    call.on('data', () => {
      if (this.probeCall === call && !this.closed) this.returnToPrimary('primary xDS server answered the probe stream; leaving fallback');
    });
    call.on('error', () => {});
    call.on('status', () => {
      if (this.probeCall === call) this.probeCall = undefined; // the next tick opens another
    });
    let node = true;
    for (const [typeUrl, names] of this.options.handler.subscriptions()) {
      if (names.size === 0) continue;
      const request: DiscoveryRequest | DeltaDiscoveryRequest = this.options.delta
        ? { type_url: typeUrl, resource_names_subscribe: [...names] }
        : { type_url: typeUrl, version_info: '', resource_names: [...names], response_nonce: '' };
      if (node) request.node = nodeMessage(this.options.node);
      node = false;
      (call as grpc.ClientDuplexStream<typeof request, unknown>).write(request);
    }
  }

  private closeProbeCall(): void {
    const call = this.probeCall;
    this.probeCall = undefined;
    call?.cancel();
  }

  private write(request: DiscoveryRequest | DeltaDiscoveryRequest): void {
    if (!this.call) return;
    if (!this.nodeSent) {
      // The Node goes only in the first request of each stream (what gRPC and Envoy do).
      request.node = nodeMessage(this.options.node);
      this.nodeSent = true;
    }
    const trace = describeRequest(request, this.options.delta);
    this.options.logger.debug(trace.message, { server: this.server.server_uri, ...trace.fields });
    (this.call as grpc.ClientDuplexStream<typeof request, unknown>).write(request);
  }

  private sotwState(typeUrl: string): SotwTypeState {
    let state = this.sotw.get(typeUrl);
    if (!state) this.sotw.set(typeUrl, (state = { version: '', nonce: '' }));
    return state;
  }

  private sendSubscription(typeUrl: string): void {
    const wanted = this.options.handler.subscriptions().get(typeUrl) ?? new Set<string>();
    const sent = this.sent.get(typeUrl);
    // Nothing ever sent for the type on this stream and nothing wanted: stay silent. (An empty
    // first SotW request would be a legacy wildcard subscription for LDS and CDS.)
    if (!sent && wanted.size === 0) return;
    // The first request of a type subscribes to every name (10,000 at config scale): no filter pass.
    const added = sent ? [...wanted].filter((n) => !sent.has(n)) : Array.from(wanted);
    const removed = sent ? [...sent].filter((n) => !wanted.has(n)) : [];
    if (sent && added.length === 0 && removed.length === 0) return;
    if (this.options.delta) {
      const request: DeltaDiscoveryRequest = { type_url: typeUrl, resource_names_subscribe: added, resource_names_unsubscribe: removed };
      if (!sent) {
        const versions = this.options.handler.cachedVersions(typeUrl, wanted);
        if (Object.keys(versions).length > 0) request.initial_resource_versions = versions;
      }
      this.write(request);
    } else {
      const state = this.sotwState(typeUrl);
      this.write({ type_url: typeUrl, version_info: state.version, resource_names: [...wanted], response_nonce: state.nonce });
    }
    this.sent.set(typeUrl, new Set(wanted));
    if (added.length > 0) this.options.handler.onSubscribed(typeUrl, added);
  }

  private onResponse(message: DiscoveryResponse | DeltaDiscoveryResponse): void {
    const trace = describeResponse(message, this.options.delta);
    this.options.logger.debug(trace.message, { server: this.server.server_uri, ...trace.fields });
    if (!this.receivedResponse) {
      this.receivedResponse = true;
      this.silent.delete(this.serverIndex);
      this.backoff.reset();
      this.options.handler.onConnected(this.server);
      this.startPrimaryProbe();
    }
    const typeUrl = message.type_url ?? '';
    const nonce = message.nonce ?? '';
    let update: ResourceUpdate;
    if (this.options.delta) {
      const m = message as DeltaDiscoveryResponse;
      update = {
        server: this.server,
        typeUrl,
        versionInfo: m.system_version_info ?? '',
        nonce,
        // A DiscoveryResource is a ReceivedResource: no per-resource copy of 20,000 wrappers.
        resources: m.resources ?? NO_RESOURCES,
        removed: m.removed_resources ?? NO_NAMES,
        stateOfTheWorld: false,
      };
    } else {
      const m = message as DiscoveryResponse;
      update = {
        server: this.server,
        typeUrl,
        versionInfo: m.version_info ?? '',
        nonce,
        resources: (m.resources ?? NO_RESOURCES_ANY).map(unwrapSotwResource),
        removed: NO_NAMES,
        stateOfTheWorld: true,
      };
    }
    let errors: string[];
    try {
      errors = this.options.handler.onUpdate(update);
    } catch (error) {
      // A bug while applying must not wedge the stream: NACK so the server knows.
      this.options.logger.error('failed to apply xDS response', { typeUrl, error });
      errors = [`internal error applying response: ${(error as Error).message}`];
    }
    const errorDetail = errors.length > 0 ? { code: INVALID_ARGUMENT, message: errors.join('\n') } : undefined;
    if (this.options.delta) {
      this.write({ type_url: typeUrl, response_nonce: nonce, ...(errorDetail ? { error_detail: errorDetail } : {}) });
    } else {
      const state = this.sotwState(typeUrl);
      state.nonce = nonce;
      if (!errorDetail) state.version = update.versionInfo;
      const names = this.options.handler.subscriptions().get(typeUrl) ?? new Set<string>();
      this.write({
        type_url: typeUrl,
        version_info: state.version,
        resource_names: [...names],
        response_nonce: nonce,
        ...(errorDetail ? { error_detail: errorDetail } : {}),
      });
      this.sent.set(typeUrl, new Set(names));
    }
    this.options.handler.onResponseHandled({ server: this.server, typeUrl, versionInfo: update.versionInfo, nonce, errors });
  }
}

const NO_RESOURCES_ANY: readonly AnyMessage[] = NO_ITEMS;

/** SotW entries may be wrapped in envoy.service.discovery.v3.Resource (client feature xds.config.resource-in-sotw). */
function unwrapSotwResource(any: AnyMessage): ReceivedResource {
  if (any.type_url !== RESOURCE_WRAPPER_TYPE_URL) return { resource: any };
  // The common wrapper (name, version, Any, aliases) without protobufjs; the rest goes to it.
  const wire = decodeResourceWire(any.value);
  if (wire !== undefined) return wire as DiscoveryResource;
  try {
    const type = envoyRoot().lookupType('envoy.service.discovery.v3.Resource');
    return type.toObject(type.decode(any.value), TO_OBJECT) as DiscoveryResource;
  } catch {
    return { resource: any }; // undecodable wrapper: validation reports the type mismatch and it is NACKed
  }
}
