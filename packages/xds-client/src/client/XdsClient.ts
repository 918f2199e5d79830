import type * as grpc from '@grpc/grpc-js';
import { redactSecrets } from './SecretRedaction.js';
import type { Bootstrap, XdsServerConfig } from '../bootstrap/Bootstrap.js';
import { loadBootstrapFromEnv, resolveBootstrap } from '../bootstrap/loadBootstrap.js';
import type { AnyMessage } from '../proto/EnvoyProtos.js';
import type { ResourceType } from '../resources/ResourceType.js';
import { ValidationError } from '../resources/ValidationError.js';
import { XdsStreamError } from './XdsStreamError.js';
import { AdsStream, type AdsStreamHandler, type ResourceUpdate, type ResponseOutcome } from '../transport/AdsStream.js';
import type { BackoffOptions } from '../transport/Backoff.js';
import { nodeMessage } from '../transport/NodeMessage.js';
import { toTimestamp, type ClientConfigDump, type ClientResourceStatus, type GenericXdsConfig } from './ConfigDump.js';
import { LastKnownGoodStore, type LastKnownGoodOptions } from './LastKnownGoodStore.js';
import { withDebugOutput } from './Debug.js';
import { consoleLogger, type Logger } from './Logger.js';
import { peekResourceName, rejectionMessage } from './ResourceRejection.js';
import { SharedTimeout } from './SharedTimeout.js';
import { NO_WATCHERS, isWatching, withWatcher, withoutWatcher, type WatcherList } from './WatcherList.js';
import type { Disposable, ResourceSource, ResourceWatcher, WatchOptions } from './ResourceSource.js';
import { XdsClientEvents, type XdsClientEventMap, type XdsClientEventName } from './XdsClientEvents.js';

export interface XdsClientOptions {
  /** A parsed Bootstrap, a bootstrap-shaped object, JSON text or a file path; default: the environment. */
  readonly bootstrap?: Bootstrap | object | string;
  /**
   * Incremental (delta) xDS for every server when true, SotW when false. Default:
   * per server, delta when its `server_features` include `delta_xds`.
   */
  readonly delta?: boolean;
  /** gRFC A27 does-not-exist timer: 15000 ms by default. */
  readonly doesNotExistTimeoutMs?: number;
  /** ADS stream reconnect backoff (gRPC connection-backoff defaults). */
  readonly backoff?: BackoffOptions;
  /** grpc-js channel options for the xDS channels. */
  readonly channelOptions?: grpc.ChannelOptions;
  /** How often a stream on a fallback server probes the primary (gRFC A71). Default 5000 ms. */
  readonly fallbackProbeIntervalMs?: number;
  /**
   * Opt-in last-known-good cache on disk (LastKnownGoodStore): ACKed resources are written to
   * `path`; at start, while no xDS server has answered, watchers are served from it (marked
   * `stale` in configDump()) until the server's own resources replace them.
   */
  readonly lastKnownGood?: LastKnownGoodOptions;
  readonly logger?: Logger;
}

const DEFAULT_DOES_NOT_EXIST_TIMEOUT_MS = 15_000;
const NO_OPTIONS: WatchOptions = Object.freeze({});

/**
 * Cached state of one subscribed resource. Every field is set when the entry is made (absent
 * ones to undefined) and cleared by assigning undefined, never `delete`: entries then share one
 * hidden class, and a 20,000-resource push does not grow or re-shape each one as it is accepted.
 */
interface Entry {
  readonly type: ResourceType<unknown>;
  readonly name: string;
  /**
   * Its watchers: the watcher itself when there is one (almost every entry: no array per entry,
   * 20,000 at config scale), else a copy-on-write array that watch and unwatch replace, never
   * change, so a notification walks the list it started with without copying it first.
   * NO_WATCHERS when none. See Watchers.
   */
  watchers: WatcherList;
  readonly stream: AdsStream | undefined;
  resource: unknown;
  raw: AnyMessage | undefined;
  version: string;
  lastUpdated: Date | undefined;
  status: ClientResourceStatus;
  errorState: { details: string; version_info: string; last_update_attempt: Date } | undefined;
  /** Its does-not-exist timer, shared with the names subscribed in the same request. */
  timer: SharedTimeout | undefined;
  /** Served from the last-known-good file; no server has confirmed it yet. */
  stale: boolean | undefined;
}

/**
 * The xDS client (gRFC A27): one ADS stream per xDS server shared by every
 * watcher, a cache of validated resources, and watcher notifications.
 *
 * - Several watchers of one resource share one subscription; a new watcher of a
 *   cached resource gets it at once (in a microtask).
 * - Equal updates (ResourceType.equal) do not wake watchers.
 * - A response is validated per resource: valid ones are applied even when
 *   others are rejected, and the last good version of a rejected one keeps
 *   serving (gRFC A46); the response is then NACKed naming each bad resource.
 * - Losing the stream does not drop the cache; watchers keep their resources.
 */
export class XdsClient implements ResourceSource {
  readonly bootstrap: Bootstrap;
  private readonly options: XdsClientOptions;
  private readonly logger: Logger;
  private readonly events: XdsClientEvents;
  private readonly types = new Map<string, ResourceType<unknown>>();
  /** typeUrl -> name -> entry. */
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly streams = new Map<string, AdsStream>();
  /** The stream of the top-level xds_servers, which serve every name outside an xdstp:// authority. */
  private topLevelStream: AdsStream | undefined;
  /**
   * stream -> typeUrl -> names of its entries, kept as entries come and go, so the stream's
   * subscriptions() is a lookup, not a walk over every entry (20,000 at config scale) per request.
   */
  private readonly subscribed = new Map<AdsStream, Map<string, Set<string>>>();
  /** Streams that have received at least one response (from any of their servers). */
  private readonly answered = new WeakSet<AdsStream>();
  /** Streams whose last attempt failed before any server ever answered. */
  private readonly unreachable = new WeakSet<AdsStream>();
  private readonly lkg: LastKnownGoodStore | undefined;
  private closed = false;
  /** What every Watch calls on dispose: one function per client, not one per watch. */
  private readonly release = (entry: Entry, watcher: ResourceWatcher<unknown>): void => this.unwatch(entry, watcher);

  constructor(options: XdsClientOptions = {}) {
    this.options = options;
    this.bootstrap = resolveBootstrap(options.bootstrap);
    // MESHLET_DEBUG=xds: every line (requests, responses, ACK/NACK) also goes to stderr.
    this.logger = withDebugOutput('xds', options.logger ?? consoleLogger, consoleLogger);
    this.events = new XdsClientEvents((error) => this.logger.error('xDS client event listener threw', { error }));
    this.lkg = options.lastKnownGood ? new LastKnownGoodStore(options.lastKnownGood, this.logger) : undefined;
  }

  /** A client for the bootstrap named by GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG. */
  static fromEnv(options: Omit<XdsClientOptions, 'bootstrap'> = {}, env: NodeJS.ProcessEnv = process.env): XdsClient {
    return new XdsClient({ ...options, bootstrap: loadBootstrapFromEnv(env) });
  }

  on<K extends XdsClientEventName>(name: K, listener: (event: XdsClientEventMap[K]) => void): Disposable {
    return this.events.on(name, listener);
  }

  watch<T>(type: ResourceType<T>, name: string, watcher: ResourceWatcher<T>, options: WatchOptions = NO_OPTIONS): Disposable {
    const w = watcher as ResourceWatcher<unknown>;
    if (this.closed) throw new Error('XdsClient is closed');
    if (options.signal?.aborted) return { dispose() {} };
    if (!this.types.has(type.typeUrl)) this.types.set(type.typeUrl, type as ResourceType<unknown>);
    let byName = this.entries.get(type.typeUrl);
    if (!byName) this.entries.set(type.typeUrl, (byName = new Map()));
    let entry = byName.get(name);
    const isNew = !entry;
    if (!entry) {
      const stream = this.streamFor(name);
      entry = {
        type: type as ResourceType<unknown>,
        name,
        watchers: w,
        stream: stream instanceof Error ? undefined : stream,
        resource: undefined,
        raw: undefined,
        version: '',
        lastUpdated: undefined,
        status: 'REQUESTED',
        errorState: undefined,
        timer: undefined,
        stale: undefined,
      };
      byName.set(name, entry);
      if (entry.stream) this.namesOf(entry.stream, type.typeUrl).add(name);
      if (stream instanceof Error) {
        // gRFC A47: a name under an authority the bootstrap does not know cannot be fetched.
        entry.status = 'DOES_NOT_EXIST';
        const e = entry;
        queueMicrotask(() => this.notify(e, w, (x) => x.onError?.(stream)));
      }
    } else entry.watchers = withWatcher(entry.watchers, w);
    const e = entry;
    if (isNew && e.stream) {
      e.stream.subscriptionChanged(type.typeUrl);
      // No server has answered this stream yet and the last attempt failed: the disk cache serves.
      if (this.unreachable.has(e.stream)) queueMicrotask(() => this.serveFromLastKnownGood(e));
    } else if (e.resource !== undefined) queueMicrotask(() => this.notify(e, w, (x) => x.onResource(e.resource, { version: e.version })));
    else if (e.status === 'DOES_NOT_EXIST') queueMicrotask(() => this.notify(e, w, (x) => x.onDoesNotExist?.()));
    else if (e.errorState) queueMicrotask(() => this.notify(e, w, (x) => x.onError?.(new Error(e.errorState!.details))));

    return new Watch(this.release, e, w, options.signal);
  }

  /** Everything the client knows, shaped like CSDS ClientConfig (gRFC A40). */
  configDump(): ClientConfigDump {
    const generic_xds_configs: GenericXdsConfig[] = [];
    for (const [typeUrl, byName] of this.entries) {
      for (const e of byName.values()) {
        generic_xds_configs.push({
          type_url: typeUrl,
          name: e.name,
          version_info: e.version,
          ...(e.raw ? { xds_config: redactedOnce(e.raw) } : {}),
          ...(e.lastUpdated ? { last_updated: toTimestamp(e.lastUpdated) } : {}),
          client_status: e.status,
          ...(e.stale ? { stale: true } : {}),
          ...(e.errorState
            ? { error_state: { details: e.errorState.details, version_info: e.errorState.version_info, last_update_attempt: toTimestamp(e.errorState.last_update_attempt) } }
            : {}),
        });
      }
    }
    return { node: nodeMessage(this.bootstrap.node), generic_xds_configs };
  }

  /** Ends every stream and timer. Watchers are not notified. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const byName of this.entries.values()) for (const e of byName.values()) SharedTimeout.stop(e);
    this.entries.clear();
    this.subscribed.clear();
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
    this.topLevelStream = undefined;
    this.events.clear();
    await this.lkg?.close();
  }

  /** `watcher` stops watching `entry`; the last one out unsubscribes. */
  private unwatch(entry: Entry, watcher: ResourceWatcher<unknown>): void {
    if (!isWatching(entry.watchers, watcher)) return;
    entry.watchers = withoutWatcher(entry.watchers, watcher);
    if (entry.watchers !== NO_WATCHERS || this.closed) return;
    const byName = this.entries.get(entry.type.typeUrl);
    if (byName?.get(entry.name) !== entry) return;
    byName.delete(entry.name);
    SharedTimeout.stop(entry);
    if (entry.stream) {
      this.namesOf(entry.stream, entry.type.typeUrl).delete(entry.name);
      entry.stream.subscriptionChanged(entry.type.typeUrl);
    }
  }

  /** The live set of names `stream` is to subscribe to for `typeUrl`. */
  private namesOf(stream: AdsStream, typeUrl: string): Set<string> {
    let byType = this.subscribed.get(stream);
    if (!byType) this.subscribed.set(stream, (byType = new Map()));
    let names = byType.get(typeUrl);
    if (!names) byType.set(typeUrl, (names = new Set()));
    return names;
  }

  /** The stream serving `name`: its authority's servers (gRFC A47) or the top-level ones. */
  private streamFor(name: string): AdsStream | Error {
    const xdstp = name.startsWith('xdstp://');
    // Every other name maps to the same stream: its key is not rebuilt per watch.
    if (!xdstp && this.topLevelStream) return this.topLevelStream;
    let servers = this.bootstrap.xds_servers;
    if (xdstp) {
      const authority = name.slice('xdstp://'.length).split('/')[0] ?? '';
      const config = Object.hasOwn(this.bootstrap.authorities, authority) ? this.bootstrap.authorities[authority] : undefined;
      if (!config) return new Error(`resource "${name}" names authority "${authority}", which the bootstrap's "authorities" does not list`);
      if (config.xds_servers.length > 0) servers = config.xds_servers;
    }
    const delta = this.options.delta ?? servers[0]!.delta_xds;
    // Call creds are part of a server's identity too: another token file is another stream (gRFC A97).
    const key = JSON.stringify([delta, servers.map((s) => [s.server_uri, s.channel_creds, s.call_creds])]);
    let stream = this.streams.get(key);
    if (!stream) {
      const s: AdsStream = new AdsStream({
        servers,
        node: this.bootstrap.node,
        delta,
        handler: this.handlerFor(() => s),
        logger: this.logger,
        ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
        ...(this.options.channelOptions ? { channelOptions: this.options.channelOptions } : {}),
        ...(this.options.fallbackProbeIntervalMs !== undefined ? { fallbackProbeIntervalMs: this.options.fallbackProbeIntervalMs } : {}),
      });
      stream = s;
      this.streams.set(key, stream);
    }
    if (!xdstp) this.topLevelStream = stream;
    return stream;
  }

  private entriesOf(stream: AdsStream, typeUrl?: string): Entry[] {
    const out: Entry[] = [];
    for (const [url, byName] of this.entries) {
      if (typeUrl !== undefined && url !== typeUrl) continue;
      for (const e of byName.values()) if (e.stream === stream) out.push(e);
    }
    return out;
  }

  private handlerFor(stream: () => AdsStream): AdsStreamHandler {
    return {
      // The live sets, kept by watch/unwatch: the stream reads them at once and copies what it keeps.
      subscriptions: () => this.subscribed.get(stream()) ?? new Map<string, Set<string>>(),
      cachedVersions: (typeUrl, names) => {
        const versions: Record<string, string> = {};
        for (const name of names) {
          const e = this.entries.get(typeUrl)?.get(name);
          // A stale (disk-cached) version is not claimed: the server must send its own.
          if (e?.resource !== undefined && e.version !== '' && !e.stale) versions[name] = e.version;
        }
        return versions;
      },
      onUpdate: (update) => this.applyUpdate(stream(), update),
      onSubscribed: (typeUrl, names) => this.startDoesNotExistTimers(typeUrl, names),
      onResponseHandled: (outcome) => this.reportOutcome(outcome),
      // gRFC A71: fall back only while some watched resource is not cached ("does not exist"
      // counts as cached); a resource served from the disk cache counts as not cached.
      needsFallback: () => this.entriesOf(stream()).some((e) => e.stale || (e.resource === undefined && e.status !== 'DOES_NOT_EXIST')),
      onConnected: (server) => {
        this.answered.add(stream());
        this.unreachable.delete(stream());
        this.logger.info('xDS stream connected', { server: server.server_uri });
        this.events.emit('connected', { server: server.server_uri });
      },
      onDisconnected: (server, error, hadResponse, retryInMs) => this.onDisconnected(stream(), server, error, hadResponse, retryInMs),
    };
  }

  /** Arms one does-not-exist timer for the names of one subscription request (SharedTimeout). */
  private startDoesNotExistTimers(typeUrl: string, names: readonly string[]): void {
    const byName = this.entries.get(typeUrl);
    if (!byName) return;
    const waiting: Entry[] = [];
    for (const name of names) {
      const e = byName.get(name);
      // gRFC A27: only a resource never received is timed; a cached one exists until deleted.
      // A stale (disk-cached) one is timed too: the server must confirm it.
      if (!e || (e.resource !== undefined && !e.stale) || e.status === 'DOES_NOT_EXIST' || e.timer) continue;
      waiting.push(e);
    }
    if (waiting.length === 0) return;
    const timeout = this.options.doesNotExistTimeoutMs ?? DEFAULT_DOES_NOT_EXIST_TIMEOUT_MS;
    SharedTimeout.start(waiting, timeout, (e) => this.doesNotExistTimeout(e, timeout));
  }

  /** An entry's does-not-exist timer fired before the server sent it. */
  private doesNotExistTimeout(e: Entry, timeoutMs: number): void {
    if (this.entries.get(e.type.typeUrl)?.get(e.name) !== e) return;
    // The server has answered nothing on this stream and another server is listed: fall back
    // (an extension of gRFC A71, see AdsStream.fallBackFromSilentServer); the timer restarts
    // when the subscription is re-sent there.
    if (e.stream?.fallBackFromSilentServer()) return;
    // Nobody has answered (a hung server): the disk cache, if any, serves instead of a verdict.
    if (!(e.stream && this.answered.has(e.stream)) && (e.stale || this.serveFromLastKnownGood(e))) return;
    this.logger.warn('xDS resource not received in time: does not exist', { typeUrl: e.type.typeUrl, name: e.name, timeoutMs });
    if (e.stale) this.forget(e);
    e.status = 'DOES_NOT_EXIST';
    this.notifyAll(e, (w) => w.onDoesNotExist?.());
  }

  private onDisconnected(stream: AdsStream, server: XdsServerConfig, error: Error, hadResponse: boolean, retryInMs: number): void {
    this.logger.warn('xDS stream lost; cached resources stay in use', { server: server.server_uri, error: error.message, hadResponse, retryInMs });
    if (!hadResponse && !this.answered.has(stream)) {
      this.unreachable.add(stream);
      for (const e of this.entriesOf(stream)) this.serveFromLastKnownGood(e);
    }
    let reported: XdsStreamError | undefined;
    for (const e of this.entriesOf(stream)) {
      // Timers restart when the subscription is re-sent: an outage is not evidence of absence.
      SharedTimeout.stop(e);
      // Cached resources are unaffected; only watchers still waiting hear about the failure.
      if (e.resource === undefined && e.status !== 'DOES_NOT_EXIST') {
        reported ??= new XdsStreamError(server.server_uri, error);
        const streamError = reported;
        this.notifyAll(e, (w) => w.onError?.(streamError));
      }
    }
    this.events.emit('disconnected', { server: server.server_uri, error, hadResponse, retryInMs });
  }

  private reportOutcome(outcome: ResponseOutcome): void {
    const event = { server: outcome.server.server_uri, typeUrl: outcome.typeUrl, version: outcome.versionInfo, nonce: outcome.nonce };
    if (outcome.errors.length > 0) {
      this.logger.warn('xDS response rejected (NACK)', { ...event, errors: outcome.errors });
      this.events.emit('nack', { ...event, errors: outcome.errors });
    } else {
      this.logger.debug('xDS response accepted (ACK)', event);
      this.events.emit('ack', event);
    }
  }

  private applyUpdate(stream: AdsStream, update: ResourceUpdate): string[] {
    const type = this.types.get(update.typeUrl);
    const byName = this.entries.get(update.typeUrl);
    if (!type || !byName) {
      this.logger.debug('ignoring response for a type nobody watches', { typeUrl: update.typeUrl });
      return [];
    }
    const errors: string[] = [];
    // The names in the response matter only for SotW deletion (LDS, CDS): not collected otherwise.
    const present = update.stateOfTheWorld && type.allResourcesRequiredInSotW ? new Set<string>() : undefined;
    /** A rejected resource whose name could not be read: it may be any of ours. */
    let unnamedRejection = false;
    const now = new Date();
    for (const received of update.resources) {
      let name = received.name;
      try {
        if (!received.resource) throw new ValidationError('resource', 'missing resource body', name);
        if (received.resource.type_url !== update.typeUrl) {
          throw new ValidationError('', `type_url ${received.resource.type_url} does not match the response's ${update.typeUrl}`, name);
        }
        const decoded = type.decode(received.resource);
        name ??= decoded.name;
        present?.add(name);
        const e = byName.get(name);
        if (!e || e.stream !== stream) continue; // not subscribed (gRFC A27: ignore, do not cache)
        this.accept(e, decoded.resource, received.resource, update.stateOfTheWorld ? update.versionInfo : (received.version ?? update.versionInfo), now);
      } catch (error) {
        name ??= (error instanceof ValidationError ? error.resourceName : undefined) ?? (received.resource ? peekResourceName(received.resource) : undefined);
        if (name !== undefined) present?.add(name);
        else unnamedRejection = true;
        const message = rejectionMessage(update.typeUrl, name, error);
        errors.push(message);
        const e = name !== undefined ? byName.get(name) : undefined;
        if (e && e.stream === stream) this.reject(e, message, error, update.versionInfo, now);
      }
    }
    // SotW LDS/CDS: a cached resource missing from the response was deleted. One never received
    // is left to its does-not-exist timer: the response may predate our subscription to it.
    // Nor is anything deleted when a rejected resource has no readable name: it may be the
    // "missing" one, and a NACKed response must not cost a resource that still exists.
    const deleted = update.stateOfTheWorld
      ? present && !unnamedRejection
        ? this.entriesOf(stream, update.typeUrl).filter((e) => e.resource !== undefined && !present.has(e.name)).map((e) => e.name)
        : []
      : update.removed;
    for (const name of deleted) {
      const e = byName.get(name);
      if (e && e.stream === stream) this.delete(e, update.server);
    }
    return errors;
  }

  private accept(e: Entry, resource: unknown, raw: AnyMessage, version: string, now: Date): void {
    SharedTimeout.stop(e);
    const changed = e.resource === undefined || !e.type.equal(e.resource, resource);
    e.raw = raw;
    e.version = version;
    e.lastUpdated = now;
    e.status = 'ACKED';
    e.errorState = undefined;
    e.stale = undefined;
    this.lkg?.put(e.type.typeUrl, e.name, version, raw, changed ? resource : e.resource);
    if (!changed) return;
    e.resource = resource;
    const info = { version };
    this.notifyAll(e, (w) => w.onResource(resource, info));
  }

  private reject(e: Entry, message: string, error: unknown, version: string, now: Date): void {
    // The server did send it, so it exists: no does-not-exist verdict for it.
    SharedTimeout.stop(e);
    e.status = 'NACKED';
    e.errorState = { details: message, version_info: version, last_update_attempt: now };
    const reported = error instanceof Error ? error : new Error(message);
    this.notifyAll(e, (w) => w.onError?.(reported));
  }

  private delete(e: Entry, server: XdsServerConfig): void {
    SharedTimeout.stop(e);
    if (e.resource !== undefined && server.ignore_resource_deletion) {
      // gRFC A53: keep serving the cached resource; the server may be restarting with partial state.
      this.logger.warn('xDS server deleted a resource; ignoring (ignore_resource_deletion)', { typeUrl: e.type.typeUrl, name: e.name, server: server.server_uri });
      return;
    }
    if (e.status === 'DOES_NOT_EXIST' && e.resource === undefined) return;
    this.forget(e);
    e.status = 'DOES_NOT_EXIST';
    this.notifyAll(e, (w) => w.onDoesNotExist?.());
  }

  /** Drops a resource from the cache (memory and disk). */
  private forget(e: Entry): void {
    e.resource = undefined;
    e.raw = undefined;
    e.errorState = undefined;
    e.stale = undefined;
    e.version = '';
    this.lkg?.remove(e.type.typeUrl, e.name);
  }

  /**
   * Serves a watched resource that has nothing yet from the last-known-good file, marked
   * stale (configDump: `stale: true` and an error_state saying so). True when it did.
   */
  private serveFromLastKnownGood(e: Entry): boolean {
    if (!this.lkg || this.closed || e.resource !== undefined || e.status === 'DOES_NOT_EXIST') return false;
    if (this.entries.get(e.type.typeUrl)?.get(e.name) !== e) return false;
    const record = this.lkg.get(e.type.typeUrl, e.name);
    if (!record) return false;
    let resource: unknown;
    try {
      resource = e.type.decode(record.any).resource;
    } catch (error) {
      this.logger.warn('last-known-good: cached resource no longer validates; not served', { typeUrl: e.type.typeUrl, name: e.name, error });
      return false;
    }
    e.resource = resource;
    e.raw = record.any;
    e.version = record.version;
    e.lastUpdated = record.writtenAt;
    e.status = 'ACKED'; // as it was when cached
    e.stale = true;
    e.errorState = {
      details: `stale: served from the last-known-good file ${this.lkg.path} (written ${record.writtenAt.toISOString()}); no xDS server has answered since start`,
      version_info: record.version,
      last_update_attempt: new Date(),
    };
    this.logger.warn('xDS server unreachable: serving the last-known-good resource', { typeUrl: e.type.typeUrl, name: e.name, version: record.version });
    this.notifyAll(e, (w) => w.onResource(resource, { version: record.version }));
    return true;
  }

  private notifyAll(e: Entry, call: (w: ResourceWatcher<unknown>) => void): void {
    // An array is never changed in place (copy-on-write), so no copy is needed to walk it.
    const watchers = e.watchers;
    if (!Array.isArray(watchers)) this.notify(e, watchers as ResourceWatcher<unknown>, call);
    else for (let i = 0; i < watchers.length; i++) this.notify(e, watchers[i]!, call);
  }

  /** Calls one watcher if it is still watching; a throwing watcher is logged, not propagated. */
  private notify(e: Entry, w: ResourceWatcher<unknown>, call: (w: ResourceWatcher<unknown>) => void): void {
    if (this.closed || !isWatching(e.watchers, w)) return;
    try {
      call(w);
    } catch (error) {
      this.logger.error('xDS watcher threw', { typeUrl: e.type.typeUrl, name: e.name, error });
    }
  }
}

/** Redacted copies of the received resources, computed once per received version. */
const redactedCache = new WeakMap<object, AnyMessage>();
function redactedOnce(raw: AnyMessage): AnyMessage {
  let r = redactedCache.get(raw);
  if (r === undefined) {
    r = redactSecrets(raw);
    redactedCache.set(raw, r);
  }
  return r;
}

/**
 * One watcher's hold on an entry, returned by XdsClient.watch: one object per watch instead of
 * a dispose closure, its state and a wrapper (a config-scale push makes 20,000 watches).
 */
class Watch implements Disposable {
  private disposed = false;
  /** Only with an AbortSignal: the listener that disposes on abort. */
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly release: (entry: Entry, watcher: ResourceWatcher<unknown>) => void,
    private readonly entry: Entry,
    private readonly watcher: ResourceWatcher<unknown>,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal) {
      this.onAbort = () => this.dispose();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
    this.release(this.entry, this.watcher);
  }
}
