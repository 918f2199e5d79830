import type { HealthStatus, LbEndpoint, Locality, Metadata } from '@meshlet/xds-client';
import { isIP } from 'node:net';
import { HostOutlierState } from './HostOutlierState.js';

/**
 * One upstream endpoint of a cluster. The same Host object is kept across EDS
 * pushes while its address:port survives, so in-flight accounting
 * (`activeRequests`), outlier history and `PickContext.avoid` sets stay valid.
 */
export class Host {
  /** 'ip:port', or '[ipv6]:port' as Envoy's Address::asString() renders it (also the ring/maglev hash key). */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** Requests in flight to this host; maintained by the call engine, read by LEAST_REQUEST. */
  activeRequests = 0;
  /** @internal outlier detection state. */
  readonly outlier = new HostOutlierState();

  #weight = 1;
  #healthStatus: HealthStatus = 'UNKNOWN';
  #locality: Locality = { region: '', zone: '', sub_zone: '' };
  #priority = 0;
  #metadata: Metadata | undefined;
  #hostname: string | undefined;
  /** The address when it is a DNS name (STRICT_DNS / LOGICAL_DNS clusters connect by name), else undefined. */
  readonly #dnsName: string | undefined;
  #hashKey: string;

  constructor(address: string, port: number) {
    this.address = address;
    this.port = port;
    this.key = Host.keyOf(address, port);
    this.#hashKey = this.key;
    this.#dnsName = isIP(address) === 0 ? address : undefined;
  }

  static keyOf(address: string, port: number): string {
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }

  /** LbEndpoint.load_balancing_weight (default 1). */
  get weight(): number {
    return this.#weight;
  }
  /** The EDS health_status (UNKNOWN counts as healthy). */
  get healthStatus(): HealthStatus {
    return this.#healthStatus;
  }
  get locality(): Locality {
    return this.#locality;
  }
  /** LocalityLbEndpoints.priority; 0 is the highest. */
  get priority(): number {
    return this.#priority;
  }
  get metadata(): Metadata | undefined {
    return this.#metadata;
  }
  get hostname(): string | undefined {
    return this.#hostname;
  }
  /**
   * The name RouteAction.auto_host_rewrite sends as the authority: the endpoint's EDS `hostname`, else
   * the address when it is a DNS name; undefined for a bare IP, where Envoy leaves the Host header as it was.
   */
  get upstreamHostname(): string | undefined {
    return this.#hostname || this.#dnsName;
  }
  /**
   * The key RING_HASH / MAGLEV hash this host by: filter_metadata['envoy.lb'].hash_key
   * when present (Envoy's hashKey()), else the address string.
   */
  get hashKey(): string {
    return this.#hashKey;
  }

  /**
   * True while outlier detection has this host ejected. Ejections end at an
   * interval sweep (as in Envoy), not at an exact instant, so `now` is only
   * accepted for API stability and does not change the answer.
   */
  isEjected(_now?: number): boolean {
    return this.outlier.ejected;
  }

  /** @internal Applies the endpoint's config from an EDS push. */
  update(endpoint: LbEndpoint, locality: Locality, priority: number): void {
    this.#weight = endpoint.load_balancing_weight > 0 ? endpoint.load_balancing_weight : 1;
    this.#healthStatus = endpoint.health_status;
    this.#locality = locality;
    this.#priority = priority;
    this.#metadata = endpoint.metadata;
    this.#hostname = endpoint.hostname;
    const hashKey = endpoint.metadata?.['envoy.lb']?.['hash_key'];
    this.#hashKey = typeof hashKey === 'string' && hashKey !== '' ? hashKey : this.key;
  }
}
