import type * as grpc from '@grpc/grpc-js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL } from '@meshlet/xds-client';
import type { AdsAckEvent, AdsRequestEvent } from './AdsEvents.js';
import { AdsStream, type AdsStreamContext, type ResourceChange } from './AdsStream.js';
import type { DiscoveryRequest, DiscoveryResponse } from './DiscoveryMessages.js';

/**
 * Types whose SotW responses may carry a subset: a client does not take a missing RDS or EDS
 * resource as deleted (xDS protocol, "Grouping resources into responses"; gRFC A53).
 */
const PER_RESOURCE_TYPES: ReadonlySet<string> = new Set([ROUTE_CONFIGURATION_TYPE_URL, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL]);

/** What one SotW stream has asked for and been sent, for one resource type. */
interface SotwSubscription {
  names: Set<string>;
  wildcard: boolean;
  /** Still in legacy wildcard mode: subscribed with an empty name list and never named names since. */
  legacyWildcard: boolean;
  /** Nonce of the latest response of this type; only a request echoing it can ACK or NACK. */
  nonce: string;
  /** version_info of the latest response of this type. */
  sentVersion: string | undefined;
}

/**
 * One `StreamAggregatedResources` (state of the world) stream. Every response carries the
 * full set the client subscribed to: for LDS/CDS the client treats a missing name as
 * deleted (gRFC A53), for RDS/EDS the server only sends the subscribed resources that exist.
 */
export class SotwStream extends AdsStream<DiscoveryRequest, DiscoveryResponse> {
  readonly #subscriptions = new Map<string, SotwSubscription>();
  #nonceCounter = 0;

  constructor(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>, context: AdsStreamContext) {
    super(call, context, false);
  }

  protected onRequest(request: DiscoveryRequest): void {
    const typeUrl = request.type_url ?? '';
    const names = request.resource_names ?? [];
    const nonce = request.response_nonce ?? '';
    const versionInfo = request.version_info ?? '';
    const event: AdsRequestEvent = {
      streamId: this.id,
      typeUrl,
      nodeId: this.nodeId,
      node: this.node,
      versionInfo,
      responseNonce: nonce,
      resourceNames: names,
      delta: false,
      ...(request.error_detail ? { errorDetail: request.error_detail } : {}),
    };
    this.context.events.emit('request', event);
    // ADS multiplexes types on one stream, so a request without a type cannot be answered.
    if (!typeUrl) return;

    const previous = this.#subscriptions.get(typeUrl);
    if (previous && nonce !== previous.nonce) {
      // A stale nonce: the client has not yet seen our latest response of this type and will
      // send another request after it does. Ignoring it (xDS protocol, "ACK/NACK and resource
      // type instance version") avoids answering a subscription that is already outdated.
      return;
    }
    if (previous && nonce !== '') this.#emitAckOrNack(typeUrl, versionInfo, nonce, request);

    const explicit = new Set(names.filter((n) => n !== '*'));
    const legacyWildcard =
      this.context.wildcardTypes.has(typeUrl) && names.length === 0 && (!previous || previous.legacyWildcard);
    const wildcard = legacyWildcard || (this.context.wildcardTypes.has(typeUrl) && names.includes('*'));
    const changed = !previous || previous.wildcard !== wildcard || !sameNames(previous.names, explicit);
    const subscription: SotwSubscription = previous ?? { names: explicit, wildcard, legacyWildcard, nonce: '', sentVersion: undefined };
    subscription.names = explicit;
    subscription.wildcard = wildcard;
    subscription.legacyWildcard = legacyWildcard;
    this.#subscriptions.set(typeUrl, subscription);

    // Answer a new or changed subscription at once with the current version. A NACK or ACK
    // with an unchanged subscription gets nothing: resending the version the client just
    // rejected would only be rejected again.
    if (changed && (wildcard || explicit.size > 0 || previous?.sentVersion !== undefined)) this.#respond(typeUrl, subscription);
  }

  resourcesChanged(typeUrl: string, change?: ResourceChange): void {
    const subscription = this.#subscriptions.get(typeUrl);
    if (!subscription || (!subscription.wildcard && subscription.names.size === 0)) return;
    if (!change) {
      this.#respond(typeUrl, subscription);
      return;
    }
    // Names the server touched that this stream asked for; none means nothing to tell it.
    const relevant = subscription.wildcard ? change.names : change.names.filter((name) => subscription.names.has(name));
    if (relevant.length === 0) return;
    // RDS and EDS responses need only carry what changed (absence is not deletion for them),
    // so an upsert sends just those resources. LDS and CDS responses are the whole set by
    // protocol (gRFC A53), and a removal can only be told by a whole-set response.
    if (!change.removed && PER_RESOURCE_TYPES.has(typeUrl)) this.#respond(typeUrl, subscription, relevant);
    else this.#respond(typeUrl, subscription);
  }

  #emitAckOrNack(typeUrl: string, versionInfo: string, nonce: string, request: DiscoveryRequest): void {
    const event: AdsAckEvent = { streamId: this.id, typeUrl, nodeId: this.nodeId, versionInfo, nonce, delta: false };
    // error_detail set means the client rejected the response with this nonce (a NACK).
    if (request.error_detail) {
      event.errorDetail = { code: request.error_detail.code ?? 0, message: request.error_detail.message ?? '' };
      this.context.events.emit('nack', event);
    } else {
      this.context.events.emit('ack', event);
    }
  }

  /** Sends the subscribed set, or only `names` (which must all be subscribed) when given. */
  #respond(typeUrl: string, subscription: SotwSubscription, names?: readonly string[]): void {
    const store = this.context.store;
    const all = store.all(typeUrl);
    const resources = [];
    if (names) {
      for (const name of names) {
        const resource = all.get(name);
        if (resource) resources.push(resource.any);
      }
    } else if (subscription.wildcard) {
      for (const resource of all.values()) resources.push(resource.any);
    } else {
      for (const name of subscription.names) {
        const resource = all.get(name);
        if (resource) resources.push(resource.any);
      }
    }
    this.#nonceCounter += 1;
    const nonce = String(this.#nonceCounter);
    const version = store.version(typeUrl);
    subscription.nonce = nonce;
    subscription.sentVersion = version;
    this.send({ version_info: version, resources, type_url: typeUrl, nonce });
  }
}

function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const name of a) if (!b.has(name)) return false;
  return true;
}
