import type { Disposable } from './ResourceSource.js';

/** A response of one type was accepted. */
export interface AckEvent {
  readonly server: string;
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
}

/** A response was rejected (possibly in part: valid resources in it were still applied, gRFC A46). */
export interface NackEvent extends AckEvent {
  /** One message per rejected resource, as sent in error_detail. */
  readonly errors: readonly string[];
}

export interface ConnectedEvent {
  readonly server: string;
}

export interface DisconnectedEvent {
  readonly server: string;
  readonly error: Error;
  /** False when the server was never reached on this attempt. */
  readonly hadResponse: boolean;
  /** When the client opens the stream again, in ms (0: at once; otherwise the reconnect backoff). */
  readonly retryInMs: number;
}

export interface XdsClientEventMap {
  ack: AckEvent;
  nack: NackEvent;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
}

export type XdsClientEventName = keyof XdsClientEventMap;

/**
 * Typed listeners returning a Disposable (cockatiel style), for metrics and
 * health checks. A throwing listener is reported, never propagated into the stream.
 */
export class XdsClientEvents {
  private readonly listeners = new Map<XdsClientEventName, Set<(event: never) => void>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  on<K extends XdsClientEventName>(name: K, listener: (event: XdsClientEventMap[K]) => void): Disposable {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    const entry = listener as (event: never) => void;
    set.add(entry);
    return { dispose: () => void set.delete(entry) };
  }

  emit<K extends XdsClientEventName>(name: K, event: XdsClientEventMap[K]): void {
    for (const listener of [...(this.listeners.get(name) ?? [])]) {
      try {
        (listener as (event: XdsClientEventMap[K]) => void)(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
