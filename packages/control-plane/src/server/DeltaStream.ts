import type * as grpc from '@grpc/grpc-js';
import type { AdsAckEvent, AdsRequestEvent } from './AdsEvents.js';
import { AdsStream, type AdsStreamContext, type ResourceChange } from './AdsStream.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaResource } from './DiscoveryMessages.js';

/**
 * Marks a name the client was told does not exist (listed in removed_resources), so it is
 * reported once, not on every push.
 */
const ABSENT = '';

/** What one delta stream has subscribed to and what the client holds, for one resource type. */
interface DeltaSubscription {
  names: Set<string>;
  wildcard: boolean;
  /** name -> the Resource.version the client has (or ABSENT). */
  clientVersions: Map<string, string>;
  nonce: string;
  /** system_version_info of the latest response, reported with its ACK/NACK. */
  sentSystemVersion: string;
}

/**
 * One `DeltaAggregatedResources` (incremental) stream: subscriptions arrive as changes,
 * and each response carries only resources whose version differs from what the client
 * has, plus `removed_resources` for names it holds that no longer exist.
 */
export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  readonly #subscriptions = new Map<string, DeltaSubscription>();
  #nonceCounter = 0;

  constructor(call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>, context: AdsStreamContext) {
    super(call, context, true);
  }

  protected onRequest(request: DeltaDiscoveryRequest): void {
    const typeUrl = request.type_url ?? '';
    const subscribe = request.resource_names_subscribe ?? [];
    const unsubscribe = request.resource_names_unsubscribe ?? [];
    const initial = request.initial_resource_versions ?? {};
    const nonce = request.response_nonce ?? '';
    const event: AdsRequestEvent = {
      streamId: this.id,
      typeUrl,
      nodeId: this.nodeId,
      node: this.node,
      versionInfo: '',
      responseNonce: nonce,
      resourceNames: subscribe,
      resourceNamesUnsubscribe: unsubscribe,
      initialResourceVersions: initial,
      delta: true,
      ...(request.error_detail ? { errorDetail: request.error_detail } : {}),
    };
    this.context.events.emit('request', event);
    if (!typeUrl) return;

    let subscription = this.#subscriptions.get(typeUrl);
    if (!subscription) {
      subscription = {
        names: new Set(),
        // Legacy wildcard: a first LDS/CDS request naming nothing subscribes to everything.
        wildcard: this.context.wildcardTypes.has(typeUrl) && subscribe.length === 0,
        // initial_resource_versions is only meaningful on the first request of a type on a
        // stream: it is what the client kept from a previous stream, so unchanged
        // resources are not sent again after a reconnect.
        clientVersions: new Map(Object.entries(initial)),
        nonce: '',
        sentSystemVersion: '',
      };
      this.#subscriptions.set(typeUrl, subscription);
    } else if (nonce !== '' && nonce === subscription.nonce) {
      this.#emitAckOrNack(typeUrl, nonce, subscription, request);
    }
    // Unlike SotW, subscription changes are applied even with a stale nonce: each delta
    // request carries only a change, so dropping one would lose it for good.
    const newlyNamed: string[] = [];
    for (const name of subscribe) {
      if (name === '*') subscription.wildcard = true;
      else if (!subscription.names.has(name)) {
        subscription.names.add(name);
        newlyNamed.push(name);
      }
    }
    for (const name of unsubscribe) {
      if (name === '*') subscription.wildcard = false;
      else subscription.names.delete(name);
    }
    // The client drops what it unsubscribed from; forget it so a resubscription resends it.
    for (const name of subscription.clientVersions.keys()) {
      if (!this.#interested(subscription, name)) subscription.clientVersions.delete(name);
    }
    this.#reconcile(typeUrl, subscription, newlyNamed);
  }

  resourcesChanged(typeUrl: string, change?: ResourceChange): void {
    const subscription = this.#subscriptions.get(typeUrl);
    if (!subscription) return;
    if (change) this.#reconcileNames(typeUrl, subscription, change.names);
    else this.#reconcile(typeUrl, subscription, []);
  }

  #interested(subscription: DeltaSubscription, name: string): boolean {
    return subscription.wildcard || subscription.names.has(name);
  }

  #emitAckOrNack(typeUrl: string, nonce: string, subscription: DeltaSubscription, request: DeltaDiscoveryRequest): void {
    const event: AdsAckEvent = {
      streamId: this.id,
      typeUrl,
      nodeId: this.nodeId,
      versionInfo: subscription.sentSystemVersion,
      nonce,
      delta: true,
    };
    if (request.error_detail) {
      // The client keeps its previous versions; we keep recording the rejected ones as sent
      // so the same bytes are not pushed again until they change.
      event.errorDetail = { code: request.error_detail.code ?? 0, message: request.error_detail.message ?? '' };
      this.context.events.emit('nack', event);
    } else {
      this.context.events.emit('ack', event);
    }
  }

  #reconcile(typeUrl: string, subscription: DeltaSubscription, newlyNamed: readonly string[]): void {
    const all = this.context.store.all(typeUrl);
    const resources: DeltaResource[] = [];
    const removed: string[] = [];
    for (const resource of all.values()) {
      if (!this.#interested(subscription, resource.name)) continue;
      if (subscription.clientVersions.get(resource.name) === resource.version) continue;
      resources.push({ name: resource.name, version: resource.version, resource: resource.any });
      subscription.clientVersions.set(resource.name, resource.version);
    }
    for (const [name, version] of subscription.clientVersions) {
      if (version !== ABSENT && !all.has(name)) {
        removed.push(name);
        subscription.clientVersions.set(name, ABSENT);
      }
    }
    // A newly named resource that does not exist is reported in removed_resources, which
    // the xDS protocol allows as an explicit "does not exist", so clients need not wait
    // for their does-not-exist timer.
    for (const name of newlyNamed) {
      if (!all.has(name) && !subscription.clientVersions.has(name)) {
        removed.push(name);
        subscription.clientVersions.set(name, ABSENT);
      }
    }
    this.#send(typeUrl, subscription, resources, removed);
  }

  /**
   * The reconcile of #reconcile restricted to names the server just upserted or removed:
   * O(names) instead of O(everything of the type), so one changed CLA among 10,000 costs
   * one lookup, not a walk of every subscription.
   */
  #reconcileNames(typeUrl: string, subscription: DeltaSubscription, names: readonly string[]): void {
    const all = this.context.store.all(typeUrl);
    const resources: DeltaResource[] = [];
    const removed: string[] = [];
    for (const name of names) {
      const resource = all.get(name);
      if (resource) {
        if (!this.#interested(subscription, name) || subscription.clientVersions.get(name) === resource.version) continue;
        resources.push({ name, version: resource.version, resource: resource.any });
        subscription.clientVersions.set(name, resource.version);
      } else {
        // Only names the client holds are reported: clientVersions has no uninterested names.
        const version = subscription.clientVersions.get(name);
        if (version === undefined || version === ABSENT) continue;
        removed.push(name);
        subscription.clientVersions.set(name, ABSENT);
      }
    }
    this.#send(typeUrl, subscription, resources, removed);
  }

  #send(typeUrl: string, subscription: DeltaSubscription, resources: DeltaResource[], removed: string[]): void {
    if (resources.length === 0 && removed.length === 0) return;
    this.#nonceCounter += 1;
    const nonce = String(this.#nonceCounter);
    subscription.nonce = nonce;
    subscription.sentSystemVersion = this.context.store.version(typeUrl);
    this.send({
      system_version_info: subscription.sentSystemVersion,
      resources,
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
    });
  }
}
