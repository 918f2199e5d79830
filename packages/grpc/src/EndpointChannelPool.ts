import { Channel, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { Host } from '@meshlet/core';

/** A channel to one endpoint, held for the life of one attempt. */
export interface EndpointLease {
  readonly channel: Channel;
  release(): void;
}

interface Entry {
  readonly channel: Channel;
  active: number;
  /** The endpoint left every cluster of the target: close once idle. */
  retired: boolean;
}

/**
 * One grpc-js Channel per endpoint (`ip:port`), shared by every call of a MeshChannel.
 * The mesh picks the host, so each channel has a single address: it uses the `ipv4:` /
 * `ipv6:` schemes (no DNS) and pick_first. grpc-js's own retries are turned off so the
 * call engine alone decides retries (gRFC A44), and an endpoint that leaves the cluster
 * has its channel closed when its last attempt ends, like Envoy draining a removed host.
 */
export class EndpointChannelPool {
  private readonly entries = new Map<string, Entry>();
  private readonly options: ChannelOptions;
  private closed = false;

  constructor(
    private readonly credentials: ChannelCredentials,
    options: ChannelOptions = {},
  ) {
    this.options = { ...options, 'grpc.enable_retries': 0 };
  }

  acquire(host: Host): EndpointLease {
    if (this.closed) throw new Error('meshlet: the MeshChannel is closed');
    let entry = this.entries.get(host.key);
    if (entry === undefined) {
      const address = host.address.includes(':') ? `ipv6:[${host.address}]:${host.port}` : `ipv4:${host.address}:${host.port}`;
      entry = { channel: new Channel(address, this.credentials, this.options), active: 0, retired: false };
      this.entries.set(host.key, entry);
    }
    entry.retired = false;
    entry.active++;
    const e = entry;
    let released = false;
    return {
      channel: e.channel,
      release: () => {
        if (released) return;
        released = true;
        e.active--;
        if (e.retired && e.active === 0) this.drop(host.key, e);
      },
    };
  }

  /** Closes (now, or when idle) the channels of endpoints not in `live` (host keys). */
  retainOnly(live: ReadonlySet<string>): void {
    for (const [key, entry] of this.entries) {
      if (live.has(key)) continue;
      entry.retired = true;
      if (entry.active === 0) this.drop(key, entry);
    }
  }

  /** Endpoint keys with an open channel (for tests and debugging). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) entry.channel.close();
    this.entries.clear();
  }

  private drop(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    entry.channel.close();
  }
}
