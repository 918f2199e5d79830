import { Channel, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { Host } from '@meshlet/core/client';
import type { EndpointTransport } from './EndpointCredentials.js';

/**
 * A channel to one endpoint, held for the life of one attempt: each acquire is matched by exactly
 * one release (an UpstreamAttempt releases when its call reports its status, which grpc-js does once).
 */
export interface EndpointLease {
  readonly channel: Channel;
  release(): void;
}

/** One pooled channel; it is itself the lease every attempt on it holds (no lease object per attempt). */
class Entry implements EndpointLease {
  active = 0;
  /** The endpoint left every cluster of the target, or the channel was superseded: close once idle. */
  retired = false;

  constructor(
    readonly pool: EndpointChannelPool,
    readonly hostKey: string,
    readonly slot: string,
    readonly channel: Channel,
    /** What the channel was built with; an acquire with other credentials (rotated material) supersedes it. */
    readonly credentials: ChannelCredentials,
  ) {}

  release(): void {
    this.active--;
    if (this.retired && this.active === 0) this.pool.drained(this);
  }
}

/**
 * One grpc-js Channel per (endpoint `ip:port`, transport slot), shared by every call of a
 * MeshChannel. The mesh picks the host, so each channel has a single address: it uses the
 * `ipv4:` / `ipv6:` schemes (no DNS) and pick_first. grpc-js's own retries are turned off so
 * the call engine alone decides retries (gRFC A44), and an endpoint that leaves the cluster
 * has its channel closed when its last attempt ends, like Envoy draining a removed host.
 *
 * Keying by transport slot lets plaintext and mTLS endpoints of one cluster coexist. When an
 * endpoint's TLS credentials change (a certificate provider rotated its material), the old
 * channel is retired: calls on it finish there, new attempts get a channel (and so a TLS
 * handshake) with the new material, as Envoy keeps old connections and uses the new secret
 * for new ones.
 */
export class EndpointChannelPool {
  private readonly entries = new Map<string, Entry>();
  /** Retired channels with attempts still running on them. */
  private readonly draining = new Set<Entry>();
  /** Per host, the entry its last attempt used (a retired one is looked up again). */
  private readonly lastOfHost = new WeakMap<Host, Entry>();
  private readonly options: ChannelOptions;
  private closed = false;

  constructor(options: ChannelOptions = {}) {
    // channelz is off unless the caller's options turn it on: these channels are the MeshChannel's
    // internals (it reports no channelz data itself, see the README), and with channelz on, grpc-js
    // tracks every call on the channel, its subchannel and its socket (an event tracker of four
    // closures per call, timestamps, the socket's set of active calls).
    this.options = { 'grpc.enable_channelz': 0, ...options, 'grpc.enable_retries': 0 };
  }

  /** The pool key of an endpoint's channel for one transport slot. */
  static keyOf(hostKey: string, slot: string): string {
    return `${hostKey}|${slot}`;
  }

  acquire(host: Host, transport: EndpointTransport): EndpointLease {
    if (this.closed) throw new Error('meshlet: the MeshChannel is closed');
    // The host's last channel, found without building its pool key (a string per attempt).
    let entry = this.lastOfHost.get(host);
    if (entry === undefined || entry.retired || entry.slot !== transport.slot || entry.credentials !== transport.credentials) {
      entry = this.entryFor(host, transport);
      this.lastOfHost.set(host, entry);
    }
    entry.active++;
    return entry;
  }

  private entryFor(host: Host, transport: EndpointTransport): Entry {
    const key = EndpointChannelPool.keyOf(host.key, transport.slot);
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (entry.credentials === transport.credentials) return entry;
      this.retire(key, entry);
    }
    const address = host.address.includes(':') ? `ipv6:[${host.address}]:${host.port}` : `ipv4:${host.address}:${host.port}`;
    const options = transport.channelOptions === undefined ? this.options : { ...this.options, ...transport.channelOptions };
    const created = new Entry(this, host.key, transport.slot, new Channel(address, transport.credentials, options), transport.credentials);
    this.entries.set(key, created);
    return created;
  }

  /** A retired entry's last attempt ended. */
  drained(entry: Entry): void {
    this.draining.delete(entry);
    entry.channel.close();
  }

  /** Closes (now, or when idle) the channels whose pool key (`keyOf`) is not in `live`. */
  retainOnly(live: ReadonlySet<string>): void {
    for (const [key, entry] of this.entries) if (!live.has(key)) this.retire(key, entry);
  }

  /** Endpoint keys with an open channel (for tests and debugging). */
  keys(): string[] {
    return [...new Set([...this.entries.values()].map((e) => e.hostKey))];
  }

  /** Pool keys (`endpoint|slot`) with an open channel, retired ones still draining excluded. */
  channelKeys(): string[] {
    return [...this.entries.keys()];
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) entry.channel.close();
    for (const entry of this.draining) entry.channel.close();
    this.entries.clear();
    this.draining.clear();
  }

  private retire(key: string, entry: Entry): void {
    // Out of the map at once, so the next acquire builds a fresh channel; it closes when idle.
    if (this.entries.get(key) === entry) this.entries.delete(key);
    entry.retired = true;
    if (entry.active === 0) entry.channel.close();
    else this.draining.add(entry);
  }
}
