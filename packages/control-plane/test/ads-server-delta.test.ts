import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, decodeAny, encodeAny } from '@meshlet/xds-client';
import { AdsServer, resourceVersionOf, type AdsAckEvent, type AdsRequestEvent, type DeltaDiscoveryResponse } from '../src/server/index.js';
import { AdsTestClient } from './helpers/adsTestClient.js';
import { edsCluster, loadAssignment } from './helpers/adsFixtures.js';

const node = { id: 'delta-node' };
const EDS = CLUSTER_LOAD_ASSIGNMENT_TYPE_URL;

function names(response: DeltaDiscoveryResponse): string[] {
  return response.resources.map((r) => r.name).sort();
}

describe('AdsServer delta (incremental) xDS', () => {
  let server: AdsServer;
  let client: AdsTestClient;

  beforeEach(async () => {
    server = new AdsServer();
    const { port } = await server.listen(0);
    client = new AdsTestClient(port);
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('answers the initial subscription with named, content-versioned resources', async () => {
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]) }, { version: 'sys-1' });
    const stream = client.delta();
    stream.send({ node, type_url: EDS, resource_names_subscribe: ['a'] });
    const response = await stream.next();
    expect(response.type_url).toBe(EDS);
    expect(response.system_version_info).toBe('sys-1');
    expect(response.nonce).not.toBe('');
    expect(names(response)).toEqual(['a']);
    const [resource] = response.resources;
    // The per-resource version is a hash of the encoded bytes: stable for equal content.
    expect(resource!.version).toBe(resourceVersionOf(encodeAny(EDS, loadAssignment('a', [1])).value));
    expect(decodeAny(resource!.resource)).toMatchObject({ cluster_name: 'a' });
  });

  it('LDS/CDS with no names (or *) is wildcard', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') });
    server.setResources(LISTENER_TYPE_URL, { l1: { name: 'l1' } });
    const stream = client.delta();
    stream.send({ node, type_url: CLUSTER_TYPE_URL });
    expect(names(await stream.next())).toEqual(['c1', 'c2']);
    stream.send({ node, type_url: LISTENER_TYPE_URL, resource_names_subscribe: ['*'] });
    expect(names(await stream.next())).toEqual(['l1']);
    // A wildcard subscriber gets new resources as they appear.
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2'), c3: edsCluster('c3') });
    expect(names(await stream.next())).toEqual(['c3']);
  });

  it('unsubscribing * leaves only the explicitly named resources', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') });
    const stream = client.delta();
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names_subscribe: ['*', 'c1'] });
    const first = await stream.next();
    expect(names(first)).toEqual(['c1', 'c2']);
    const changed = once(server.events, 'request');
    stream.send({ type_url: CLUSTER_TYPE_URL, resource_names_unsubscribe: ['*'], response_nonce: first.nonce });
    await changed;
    server.setResources(CLUSTER_TYPE_URL, { c1: { ...edsCluster('c1'), lb_policy: 'RANDOM' }, c2: { ...edsCluster('c2'), lb_policy: 'RANDOM' }, c3: edsCluster('c3') });
    const next = await stream.next();
    expect(names(next)).toEqual(['c1']);
    expect(next.removed_resources).toEqual([]);
  });

  it('pushes only resources whose content changed', async () => {
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]) });
    const stream = client.delta();
    stream.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'b'] });
    const first = await stream.next();
    expect(names(first)).toEqual(['a', 'b']);
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [3]) });
    const second = await stream.next();
    expect(names(second)).toEqual(['b']);
    expect(second.removed_resources).toEqual([]);
    expect(second.system_version_info).not.toBe(first.system_version_info);
    // Re-setting identical content changes nothing the client holds: no response. The
    // answer to a new subscription being the next message proves nothing was sent before it.
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [3]), c: loadAssignment('c', [4]) });
    stream.send({ type_url: EDS, resource_names_subscribe: ['c'], response_nonce: second.nonce });
    const third = await stream.next();
    expect(names(third)).toEqual(['c']);
    expect(third.removed_resources).toEqual([]);
  });

  it('sends removed_resources for deleted resources the client holds', async () => {
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]) });
    const stream = client.delta();
    stream.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'b'] });
    await stream.next();
    server.removeResources(EDS, ['b']);
    const response = await stream.next();
    expect(response.resources).toEqual([]);
    expect(response.removed_resources).toEqual(['b']);
    // Coming back is a normal update.
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]) });
    expect(names(await stream.next())).toEqual(['b']);
  });

  it('reports a newly subscribed name that does not exist as removed, once', async () => {
    server.setResources(EDS, { a: loadAssignment('a', [1]) });
    const stream = client.delta();
    stream.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'ghost'] });
    const response = await stream.next();
    expect(names(response)).toEqual(['a']);
    expect(response.removed_resources).toEqual(['ghost']);
    server.setResources(EDS, { a: loadAssignment('a', [5]) });
    expect((await stream.next()).removed_resources).toEqual([]);
    server.setResources(EDS, { a: loadAssignment('a', [5]), ghost: loadAssignment('ghost', [6]) });
    expect(names(await stream.next())).toEqual(['ghost']);
  });

  it('stops sending unsubscribed resources and resends them on resubscription', async () => {
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]) });
    const stream = client.delta();
    stream.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'b'] });
    const first = await stream.next();
    const unsubscribed = once(server.events, 'request');
    stream.send({ type_url: EDS, resource_names_unsubscribe: ['b'], response_nonce: first.nonce });
    await unsubscribed;
    // Changing b after the unsubscribe wakes nobody; changing a does.
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [9]) });
    server.setResources(EDS, { a: loadAssignment('a', [7]), b: loadAssignment('b', [9]) });
    const second = await stream.next();
    expect(names(second)).toEqual(['a']);
    // Deleting an unsubscribed resource is not reported either.
    server.removeResources(EDS, ['b']);
    stream.send({ type_url: EDS, resource_names_subscribe: ['a2'], response_nonce: second.nonce });
    const third = await stream.next();
    expect(third.removed_resources).toEqual(['a2']);
    server.setResources(EDS, { a: loadAssignment('a', [7]), b: loadAssignment('b', [9]) });
    stream.send({ type_url: EDS, resource_names_subscribe: ['b'], response_nonce: third.nonce });
    expect(names(await stream.next())).toEqual(['b']);
  });

  it('on reconnect, resources matching initial_resource_versions are not resent', async () => {
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]), c: loadAssignment('c', [3]) });
    const first = client.delta();
    first.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'b', 'c'] });
    const held = new Map((await first.next()).resources.map((r) => [r.name, r.version]));
    first.cancel();

    // While the client is away: b changes, c is deleted, a is untouched.
    server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [20]) });
    const second = client.delta();
    second.send({
      node,
      type_url: EDS,
      resource_names_subscribe: ['a', 'b', 'c'],
      initial_resource_versions: Object.fromEntries(held),
    });
    const response = await second.next();
    expect(names(response)).toEqual(['b']);
    expect(response.removed_resources).toEqual(['c']);

    // Nothing at all is sent when everything the client holds is current.
    const third = client.delta();
    third.send({ node, type_url: EDS, resource_names_subscribe: ['a'], initial_resource_versions: { a: held.get('a')! } });
    third.send({ type_url: CLUSTER_TYPE_URL, resource_names_subscribe: ['x'] });
    const next = await third.next();
    expect(next.type_url).toBe(CLUSTER_TYPE_URL);
  });

  it('reports ACK and NACK by nonce, ignores stale nonces, and does not resend NACKed content', async () => {
    server.setResources(EDS, { a: loadAssignment('a', [1]) }, { version: 'v1' });
    const events: ['ack' | 'nack', AdsAckEvent][] = [];
    server.events.on('ack', (e: AdsAckEvent) => events.push(['ack', e]));
    server.events.on('nack', (e: AdsAckEvent) => events.push(['nack', e]));
    const requests: AdsRequestEvent[] = [];
    server.events.on('request', (e: AdsRequestEvent) => requests.push(e));
    const stream = client.delta();
    stream.send({ node, type_url: EDS, resource_names_subscribe: ['a'] });
    const first = await stream.next();
    const acked = once(server.events, 'ack');
    stream.send({ type_url: EDS, response_nonce: first.nonce });
    await acked;

    server.setResources(EDS, { a: loadAssignment('a', [2]) }, { version: 'v2' });
    const second = await stream.next();
    server.setResources(EDS, { a: loadAssignment('a', [3]) }, { version: 'v3' });
    const third = await stream.next();
    // A NACK of `second` is stale (third was sent since): no event.
    stream.send({ type_url: EDS, response_nonce: second.nonce, error_detail: { code: 3, message: 'stale' } });
    const nacked = once(server.events, 'nack');
    stream.send({ type_url: EDS, response_nonce: third.nonce, error_detail: { code: 3, message: 'bad endpoint' } });
    await nacked;
    expect(events.map(([kind, e]) => [kind, e.nonce, e.versionInfo, e.errorDetail?.message])).toEqual([
      ['ack', first.nonce, 'v1', undefined],
      ['nack', third.nonce, 'v3', 'bad endpoint'],
    ]);
    expect(events[1]![1]).toMatchObject({ nodeId: node.id, delta: true, errorDetail: { code: 3 } });
    expect(requests.every((r) => r.delta && r.nodeId === node.id)).toBe(true);
    // The rejected content is not pushed again: the next message answers a new subscription.
    server.setResources(CLUSTER_TYPE_URL, { c: edsCluster('c') });
    stream.send({ type_url: CLUSTER_TYPE_URL, resource_names_subscribe: ['c'] });
    expect((await stream.next()).type_url).toBe(CLUSTER_TYPE_URL);
  });

  describe('upsertResources / removeResources (one resource at a time)', () => {
    it('sends exactly the changed resource, with its content version, and keeps the others', async () => {
      server.setResources(EDS, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]), c: loadAssignment('c', [3]), d: loadAssignment('d', [4]) }, { version: 'v1' });
      const stream = client.delta();
      stream.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'b', 'c'] });
      const first = await stream.next();
      expect(names(first)).toEqual(['a', 'b', 'c']);

      server.upsertResources(EDS, { b: loadAssignment('b', [20]) });
      const second = await stream.next();
      expect(names(second)).toEqual(['b']);
      expect(second.removed_resources).toEqual([]);
      expect(second.resources[0]!.version).toBe(resourceVersionOf(encodeAny(EDS, loadAssignment('b', [20])).value));
      expect(decodeAny(second.resources[0]!.resource)).toMatchObject({ endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 20 } } } }] }] });
      // The type's system version moved (from the shared counter), away from 'v1'.
      expect(second.system_version_info).not.toBe('v1');
      expect(second.system_version_info).not.toBe('');

      // Identical bytes and an unsubscribed name wake nobody; an explicit version is used as given.
      server.upsertResources(EDS, { a: loadAssignment('a', [1]), d: loadAssignment('d', [40]) });
      server.upsertResources(EDS, { c: loadAssignment('c', [30]) }, { version: 'v-up' });
      const third = await stream.next();
      expect(names(third)).toEqual(['c']);
      expect(third.system_version_info).toBe('v-up');

      // The store kept everything it was not told about: a fresh subscriber gets all four,
      // with the upserted contents.
      const fresh = client.delta();
      fresh.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'b', 'c', 'd'] });
      const all = await fresh.next();
      expect(names(all)).toEqual(['a', 'b', 'c', 'd']);
      const ports = Object.fromEntries(all.resources.map((r) => [r.name, (decodeAny(r.resource) as { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[] }).endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.port_value]));
      expect(ports).toEqual({ a: 1, b: 20, c: 30, d: 40 });
      expect(all.system_version_info).toBe('v-up');
    });

    it('wildcard subscribers get upserted new resources; removals are removed_resources, only for what the client holds', async () => {
      server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') });
      server.setResources(EDS, { a: loadAssignment('a', [1]) });
      const stream = client.delta();
      stream.send({ node, type_url: CLUSTER_TYPE_URL });
      expect(names(await stream.next())).toEqual(['c1', 'c2']);
      stream.send({ type_url: EDS, resource_names_subscribe: ['a', 'ghost'] });
      const eds = await stream.next();
      expect(eds.removed_resources).toEqual(['ghost']);

      server.upsertResources(CLUSTER_TYPE_URL, { c3: edsCluster('c3') });
      const added = await stream.next();
      expect(added.type_url).toBe(CLUSTER_TYPE_URL);
      expect(names(added)).toEqual(['c3']);

      // 'nope' never existed and 'ghost' was already reported absent: only c1 is news.
      server.removeResources(CLUSTER_TYPE_URL, ['c1', 'nope']);
      const removed = await stream.next();
      expect(removed.resources).toEqual([]);
      expect(removed.removed_resources).toEqual(['c1']);
      server.removeResources(EDS, ['ghost']);
      // A name the client was told is absent comes back as a normal update when created.
      server.upsertResources(EDS, { ghost: loadAssignment('ghost', [7]) });
      const created = await stream.next();
      expect(created.type_url).toBe(EDS);
      expect(names(created)).toEqual(['ghost']);
      expect(created.removed_resources).toEqual([]);
    });

    it('a resource of the wrong type is rejected and changes nothing', async () => {
      server.setResources(EDS, { a: loadAssignment('a', [1]) }, { version: 'v1' });
      expect(() =>
        server.upsertResources(EDS, { a: loadAssignment('a', [2]), b: encodeAny(CLUSTER_TYPE_URL, edsCluster('b')) }),
      ).toThrow(TypeError);
      const stream = client.delta();
      stream.send({ node, type_url: EDS, resource_names_subscribe: ['a', 'b'] });
      const response = await stream.next();
      expect(response.system_version_info).toBe('v1');
      expect(names(response)).toEqual(['a']);
      expect(response.resources[0]!.version).toBe(resourceVersionOf(encodeAny(EDS, loadAssignment('a', [1])).value));
      expect(response.removed_resources).toEqual(['b']);
    });
  });
});
