import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  ClusterLoadAssignmentResource,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
  XdsClient,
  decodeAny,
  encodeAny,
  silentLogger,
  type ClusterLoadAssignment,
} from '@meshlet/xds-client';
import { AdsServer, type AdsAckEvent, type AdsRequestEvent } from '../src/server/index.js';
import { AdsTestClient } from './helpers/adsTestClient.js';
import { edsCluster, loadAssignment, namesOf, routeConfig } from './helpers/adsFixtures.js';

/** Polls until `check` holds; generous, since a loaded 2-core machine can stall for seconds. */
async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const node = { id: 'sidecar~127.0.0.1~app.default~default.svc.cluster.local', cluster: 'test' };

describe('AdsServer state of the world', () => {
  let server: AdsServer;
  let client: AdsTestClient;
  let port: number;

  beforeEach(async () => {
    server = new AdsServer();
    ({ port } = await server.listen(0));
    client = new AdsTestClient(port);
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('answers an initial request with the subscribed resources that exist and the current version', async () => {
    server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { a: loadAssignment('a', [1001]), b: loadAssignment('b', [1002]) }, { version: 'v1' });
    const stream = client.sotw();
    stream.send({ node, type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, resource_names: ['a', 'missing'] });
    const response = await stream.next();
    expect(response.type_url).toBe(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
    expect(response.version_info).toBe('v1');
    expect(response.nonce).not.toBe('');
    // EDS is not a full-state type: only the subscribed resources that exist are sent.
    expect(namesOf(response.resources)).toEqual(['a']);
    const decoded = decodeAny(response.resources[0]!);
    expect(decoded).toMatchObject({ cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 1001 } } } }] }] });
  });

  it('accepts pre-encoded Any values and rejects a resource of the wrong type', async () => {
    server.setResources(ROUTE_CONFIGURATION_TYPE_URL, { r: encodeAny(ROUTE_CONFIGURATION_TYPE_URL, routeConfig('r', 'c')) });
    const stream = client.sotw();
    stream.send({ node, type_url: ROUTE_CONFIGURATION_TYPE_URL, resource_names: ['r'] });
    expect(namesOf((await stream.next()).resources)).toEqual(['r']);
    expect(() => server.setResources(LISTENER_TYPE_URL, { r: encodeAny(ROUTE_CONFIGURATION_TYPE_URL, routeConfig('r', 'c')) })).toThrow(TypeError);
  });

  it('treats LDS/CDS requests with no names, or with *, as wildcard', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') });
    server.setResources(LISTENER_TYPE_URL, { 'l1:80': { name: 'l1:80' }, 'l2:80': { name: 'l2:80' } });
    const stream = client.sotw();
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: [] });
    expect(namesOf((await stream.next()).resources).sort()).toEqual(['c1', 'c2']);
    stream.send({ node, type_url: LISTENER_TYPE_URL, resource_names: ['*'] });
    expect(namesOf((await stream.next()).resources).sort()).toEqual(['l1:80', 'l2:80']);
    // An EDS request with no names is not a wildcard: nothing is subscribed, nothing is sent.
    // The RDS request after it proves ordering: its answer is the next message on the stream.
    server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { c1: loadAssignment('c1', [1]) });
    server.setResources(ROUTE_CONFIGURATION_TYPE_URL, { r: routeConfig('r', 'c1') });
    stream.send({ node, type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, resource_names: [] });
    stream.send({ node, type_url: ROUTE_CONFIGURATION_TYPE_URL, resource_names: ['r'] });
    expect((await stream.next()).type_url).toBe(ROUTE_CONFIGURATION_TYPE_URL);
  });

  it('an empty CDS list after explicit names unsubscribes instead of turning into a wildcard', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') });
    const stream = client.sotw();
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['c1'] });
    const first = await stream.next();
    expect(namesOf(first.resources)).toEqual(['c1']);
    // Legacy wildcard only applies while the client has never named a resource (xDS protocol,
    // "How the client specifies what resources to return").
    stream.send({ type_url: CLUSTER_TYPE_URL, resource_names: [], version_info: first.version_info, response_nonce: first.nonce });
    expect((await stream.next()).resources).toEqual([]);
  });

  it('reports ACKs and NACKs (error_detail) and does not resend a NACKed version', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1') }, { version: 'v1' });
    const requests: AdsRequestEvent[] = [];
    server.events.on('request', (event: AdsRequestEvent) => requests.push(event));
    const stream = client.sotw();
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['c1'] });
    const first = await stream.next();

    const ack = once(server.events, 'ack');
    stream.send({ type_url: CLUSTER_TYPE_URL, resource_names: ['c1'], version_info: 'v1', response_nonce: first.nonce });
    const [ackEvent] = (await ack) as [AdsAckEvent];
    expect(ackEvent).toMatchObject({ typeUrl: CLUSTER_TYPE_URL, nodeId: node.id, versionInfo: 'v1', nonce: first.nonce });
    expect(ackEvent.errorDetail).toBeUndefined();

    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') }, { version: 'v2' });
    const second = await stream.next();
    expect(second.version_info).toBe('v2');
    const nack = once(server.events, 'nack');
    stream.send({
      type_url: CLUSTER_TYPE_URL,
      resource_names: ['c1'],
      version_info: 'v1',
      response_nonce: second.nonce,
      error_detail: { code: 3, message: 'cluster c2: bad lb_policy' },
    });
    const [nackEvent] = (await nack) as [AdsAckEvent];
    expect(nackEvent).toMatchObject({
      typeUrl: CLUSTER_TYPE_URL,
      nodeId: node.id, // remembered from the stream's first request
      versionInfo: 'v1',
      nonce: second.nonce,
      errorDetail: { code: 3, message: 'cluster c2: bad lb_policy' },
    });
    // Nothing is resent for the NACK: the next message is the answer to a new LDS subscription.
    server.setResources(LISTENER_TYPE_URL, { l: { name: 'l' } });
    stream.send({ type_url: LISTENER_TYPE_URL, resource_names: ['l'] });
    expect((await stream.next()).type_url).toBe(LISTENER_TYPE_URL);
    expect(requests.at(-1)).toMatchObject({ typeUrl: LISTENER_TYPE_URL, nodeId: node.id, delta: false });
    expect(requests.some((r) => r.errorDetail?.message === 'cluster c2: bad lb_policy')).toBe(true);
  });

  it('ignores requests with a stale nonce for ACK/NACK purposes', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1') }, { version: 'v1' });
    const stream = client.sotw();
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['c1'] });
    const first = await stream.next();
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1') }, { version: 'v2' });
    const second = await stream.next();
    const acks: AdsAckEvent[] = [];
    server.events.on('ack', (e: AdsAckEvent) => acks.push(e));
    server.events.on('nack', (e: AdsAckEvent) => acks.push(e));
    // A NACK of the first response arrives after the second was sent: stale, so ignored,
    // including its subscription change (c2 is not answered).
    stream.send({ type_url: CLUSTER_TYPE_URL, resource_names: ['c1', 'c2'], version_info: '', response_nonce: first.nonce, error_detail: { code: 3, message: 'old' } });
    const ack = once(server.events, 'ack');
    stream.send({ type_url: CLUSTER_TYPE_URL, resource_names: ['c1'], version_info: 'v2', response_nonce: second.nonce });
    await ack;
    expect(acks.map((a) => [a.nonce, a.errorDetail === undefined])).toEqual([[second.nonce, true]]);
    expect(stream.pending).toBe(0);
  });

  it('pushes updates to every subscribed stream', async () => {
    server.setResources(ROUTE_CONFIGURATION_TYPE_URL, { r: routeConfig('r', 'c1') });
    const s1 = client.sotw();
    const s2 = client.sotw();
    for (const s of [s1, s2]) s.send({ node, type_url: ROUTE_CONFIGURATION_TYPE_URL, resource_names: ['r'] });
    const [a, b] = await Promise.all([s1.next(), s2.next()]);
    server.setResources(ROUTE_CONFIGURATION_TYPE_URL, { r: routeConfig('r', 'c2') });
    const [a2, b2] = await Promise.all([s1.next(), s2.next()]);
    for (const [before, after] of [[a, a2], [b, b2]] as const) {
      expect(after.version_info).not.toBe(before.version_info);
      expect(after.nonce).not.toBe(before.nonce);
      expect(decodeAny(after.resources[0]!)).toMatchObject({ virtual_hosts: [{ routes: [{ route: { cluster: 'c2' } }] }] });
    }
    // LDS/CDS responses carry the full state, so a removal is a response without the name.
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') });
    s1.send({ type_url: CLUSTER_TYPE_URL, resource_names: ['*'] });
    expect(namesOf((await s1.next()).resources).sort()).toEqual(['c1', 'c2']);
    server.removeResources(CLUSTER_TYPE_URL, ['c2']);
    expect(namesOf((await s1.next()).resources)).toEqual(['c1']);
  });

  it('answers a subscription change on an open stream immediately with the current version', async () => {
    server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]) }, { version: '7' });
    const stream = client.sotw();
    stream.send({ node, type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, resource_names: ['a'] });
    const first = await stream.next();
    stream.send({ type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, resource_names: ['a', 'b'], version_info: '7', response_nonce: first.nonce });
    const second = await stream.next();
    expect(second.version_info).toBe('7');
    expect(namesOf(second.resources).sort()).toEqual(['a', 'b']);
    // Dropping b is answered too, with only a.
    stream.send({ type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, resource_names: ['a'], version_info: '7', response_nonce: second.nonce });
    expect(namesOf((await stream.next()).resources)).toEqual(['a']);
  });

  it('setSnapshot names resources by name / cluster_name and serves all four types', async () => {
    server.setSnapshot({
      listeners: [{ name: 'svc:80' }],
      routes: [routeConfig('outbound|80||svc', 'outbound|80||svc')],
      clusters: [edsCluster('outbound|80||svc')],
      endpoints: [loadAssignment('outbound|80||svc', [8080])],
    });
    const stream = client.sotw();
    const wanted: [string, string][] = [
      [LISTENER_TYPE_URL, 'svc:80'],
      [ROUTE_CONFIGURATION_TYPE_URL, 'outbound|80||svc'],
      [CLUSTER_TYPE_URL, 'outbound|80||svc'],
      [CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, 'outbound|80||svc'],
    ];
    for (const [typeUrl, name] of wanted) {
      stream.send({ node, type_url: typeUrl, resource_names: [name] });
      const response = await stream.next();
      expect(response.type_url).toBe(typeUrl);
      expect(namesOf(response.resources)).toEqual([name]);
    }
    expect(() => server.setSnapshot({ clusters: [{ type: 'EDS' }] })).toThrow(/name/);
  });

  it('disconnectAll ends every stream with UNAVAILABLE and emits stream events', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1') });
    const opened: unknown[] = [];
    const closed: unknown[] = [];
    server.events.on('stream-open', (e) => opened.push(e));
    server.events.on('stream-close', (e) => closed.push(e));
    const s1 = client.sotw();
    const s2 = client.delta();
    s1.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['c1'] });
    s2.send({ node, type_url: CLUSTER_TYPE_URL, resource_names_subscribe: ['c1'] });
    await Promise.all([s1.next(), s2.next()]);
    expect(server.streamCount).toBe(2);
    expect(opened).toHaveLength(2);
    server.disconnectAll();
    const [st1, st2] = await Promise.all([s1.status, s2.status]);
    expect(st1.code).toBe(grpc.status.UNAVAILABLE);
    expect(st2.code).toBe(grpc.status.UNAVAILABLE);
    expect(server.streamCount).toBe(0);
    expect(closed).toHaveLength(2);
    expect(closed[0]).toMatchObject({ nodeId: node.id });
  });

  it('pause holds responses and resume delivers them in order', async () => {
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1') }, { version: 'v1' });
    const stream = client.sotw();
    server.pause();
    const request = once(server.events, 'request');
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['c1'] });
    await request; // the server read the request...
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1') }, { version: 'v2' });
    // ...and a round trip on a second stream proves the paused one had its chance to answer.
    const other = client.sotw();
    const otherRequest = once(server.events, 'request');
    other.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['c1'] });
    await otherRequest;
    expect(stream.pending).toBe(0);
    expect(other.pending).toBe(0);
    server.resume();
    expect((await stream.next()).version_info).toBe('v1');
    expect((await stream.next()).version_info).toBe('v2');
    expect((await other.next()).version_info).toBe('v2');
  });

  it('a client half-close ends the stream with OK', async () => {
    const stream = client.sotw();
    const opened = once(server.events, 'stream-open');
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['x'] });
    await opened;
    const closed = once(server.events, 'stream-close');
    stream.call.end();
    expect((await stream.status).code).toBe(grpc.status.OK);
    await closed;
    expect(server.streamCount).toBe(0);
  });

  describe('upsertResources / removeResources (one resource at a time)', () => {
    it('EDS and RDS responses carry only the changed, subscribed resources', async () => {
      server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]), c: loadAssignment('c', [3]) }, { version: 'v1' });
      server.setResources(ROUTE_CONFIGURATION_TYPE_URL, { r1: routeConfig('r1', 'a'), r2: routeConfig('r2', 'b') });
      const stream = client.sotw();
      stream.send({ node, type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, resource_names: ['a', 'b'] });
      const first = await stream.next();
      expect(namesOf(first.resources).sort()).toEqual(['a', 'b']);
      stream.send({ type_url: ROUTE_CONFIGURATION_TYPE_URL, resource_names: ['r1', 'r2'] });
      expect(namesOf((await stream.next()).resources).sort()).toEqual(['r1', 'r2']);

      server.upsertResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { b: loadAssignment('b', [20]) });
      const second = await stream.next();
      expect(second.type_url).toBe(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
      expect(namesOf(second.resources)).toEqual(['b']);
      expect(decodeAny(second.resources[0]!)).toMatchObject({ endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 20 } } } }] }] });
      expect(second.version_info).not.toBe('v1');
      expect(second.nonce).not.toBe(first.nonce);

      // Unchanged bytes and an unsubscribed name send nothing: the next message is the RDS upsert.
      server.upsertResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { a: loadAssignment('a', [1]), c: loadAssignment('c', [30]) });
      server.upsertResources(ROUTE_CONFIGURATION_TYPE_URL, { r2: routeConfig('r2', 'c') }, { version: 'rds-2' });
      const third = await stream.next();
      expect(third.type_url).toBe(ROUTE_CONFIGURATION_TYPE_URL);
      expect(third.version_info).toBe('rds-2');
      expect(namesOf(third.resources)).toEqual(['r2']);
      expect(decodeAny(third.resources[0]!)).toMatchObject({ virtual_hosts: [{ routes: [{ route: { cluster: 'c' } }] }] });

      // A subscription change still answers with the whole subscribed set, contents as upserted.
      stream.send({ type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, resource_names: ['a', 'b', 'c'], version_info: second.version_info, response_nonce: second.nonce });
      const all = await stream.next();
      const ports = Object.fromEntries(
        all.resources.map((any) => {
          const decoded = decodeAny(any) as { cluster_name: string; endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[] };
          return [decoded.cluster_name, decoded.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.port_value];
        }),
      );
      expect(ports).toEqual({ a: 1, b: 20, c: 30 });
    });

    it('LDS and CDS responses still carry the whole set; removals are a whole set without the name', async () => {
      server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1'), c2: edsCluster('c2') });
      const wildcard = client.sotw();
      wildcard.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: [] });
      expect(namesOf((await wildcard.next()).resources).sort()).toEqual(['c1', 'c2']);
      const named = client.sotw();
      named.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: ['c1'] });
      expect(namesOf((await named.next()).resources)).toEqual(['c1']);

      server.upsertResources(CLUSTER_TYPE_URL, { c3: edsCluster('c3') });
      expect(namesOf((await wildcard.next()).resources).sort()).toEqual(['c1', 'c2', 'c3']);
      server.removeResources(CLUSTER_TYPE_URL, ['c2']);
      expect(namesOf((await wildcard.next()).resources).sort()).toEqual(['c1', 'c3']);
      // The named stream asked only for c1, so neither change reached it; a change to c1 does,
      // as the whole subscribed set.
      server.upsertResources(CLUSTER_TYPE_URL, { c1: { ...edsCluster('c1'), lb_policy: 'RANDOM' } });
      const toNamed = await named.next();
      expect(namesOf(toNamed.resources)).toEqual(['c1']);
      expect(decodeAny(toNamed.resources[0]!)).toMatchObject({ lb_policy: 'RANDOM' });
      expect(namesOf((await wildcard.next()).resources).sort()).toEqual(['c1', 'c3']);
    });

    it('an XdsClient on SotW takes a one-resource EDS response as an update of that resource only', async () => {
      server.setResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { a: loadAssignment('a', [1]), b: loadAssignment('b', [2]) });
      const nacks: AdsAckEvent[] = [];
      server.events.on('nack', (e: AdsAckEvent) => nacks.push(e));
      const xds = new XdsClient({
        bootstrap: {
          xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
          node: { id: 'sotw-upsert' },
        },
        delta: false,
        doesNotExistTimeoutMs: 500,
        logger: silentLogger,
      });
      try {
        const seen: Record<string, (number | 'does-not-exist')[]> = { a: [], b: [] };
        const firstPort = (cla: ClusterLoadAssignment) => cla.endpoints[0]!.lb_endpoints[0]!.address.port_value;
        for (const name of ['a', 'b'] as const) {
          xds.watch(ClusterLoadAssignmentResource, name, {
            onResource: (cla) => seen[name]!.push(firstPort(cla)),
            onDoesNotExist: () => seen[name]!.push('does-not-exist'),
          });
        }
        await waitUntil(() => seen.a!.length > 0 && seen.b!.length > 0);
        const acked = new Promise<AdsAckEvent>((resolve) => {
          const onAck = (e: AdsAckEvent) => {
            if (e.typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL && e.versionInfo === 'v-b') {
              server.events.off('ack', onAck);
              resolve(e);
            }
          };
          server.events.on('ack', onAck);
        });
        server.upsertResources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { b: loadAssignment('b', [22]) }, { version: 'v-b' });
        await acked;
        await waitUntil(() => seen.b!.length > 1);
        // Past the does-not-exist timer: a is still held, not taken as deleted by its absence.
        await new Promise((resolve) => setTimeout(resolve, 700));
        expect(seen).toEqual({ a: [1], b: [2, 22] });
        expect(nacks).toEqual([]);
      } finally {
        xds.close();
      }
    });
  });
});

describe('AdsServer lifecycle', () => {
  it('close() ends open streams and leaves no open handles behind', async () => {
    const server = new AdsServer();
    const { port } = await server.listen();
    expect(port).toBeGreaterThan(0);
    const client = new AdsTestClient(port);
    const stream = client.sotw();
    server.setResources(CLUSTER_TYPE_URL, { c1: edsCluster('c1') });
    stream.send({ node, type_url: CLUSTER_TYPE_URL, resource_names: [] });
    await stream.next();
    const handlesBefore = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    await server.close();
    expect((await stream.status).code).not.toBe(grpc.status.OK);
    expect(server.streamCount).toBe(0);
    client.close();
    const handlesAfter = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    expect(handlesAfter).toBe(handlesBefore - 1);
    // Closing twice is harmless, and the port is free again for a new server.
    await server.close();
    const again = new AdsServer();
    await again.listen(port);
    await again.close();
  });
});
