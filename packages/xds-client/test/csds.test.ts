import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { AdsServer } from '../../control-plane/src/server/index.js';
import { XdsClient, silentLogger } from '../src/client/index.js';
import { CLUSTER_TYPE_URL } from '../src/resources/ResourceType.js';
import { ClusterResource } from '../src/resources/index.js';
import { createCsdsService, csdsServiceDefinition, type ClientStatusRequest, type ClientStatusResponse } from '../src/csds/index.js';
import { decodeAny } from '../src/proto/EnvoyProtos.js';
import { RecordingWatcher } from './helpers/RecordingWatcher.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NODE_ID = 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local';
const cluster = (name: string) => ({ name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 } });

async function csdsClient(source: Parameters<typeof createCsdsService>[0]) {
  const server = new grpc.Server();
  const csds = createCsdsService(source);
  server.addService(csds.definition, csds.implementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor(csdsServiceDefinition(), 'ClientStatusDiscoveryService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    FetchClientStatus(req: ClientStatusRequest, cb: (e: grpc.ServiceError | null, r?: ClientStatusResponse) => void): void;
    StreamClientStatus(): grpc.ClientDuplexStream<ClientStatusRequest, ClientStatusResponse>;
  };
  cleanups.push(() => {
    client.close();
    server.forceShutdown();
  });
  return client;
}

describe('CSDS service', () => {
  it('serves a real XdsClient config dump over gRPC: resources, versions and client_status', async () => {
    const ads = new AdsServer();
    const { port } = await ads.listen(0);
    cleanups.push(() => ads.close());
    ads.setResources(CLUSTER_TYPE_URL, { c1: cluster('c1') }, { version: 'v7' });
    const xds = new XdsClient({
      bootstrap: {
        xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: NODE_ID, cluster: 'app', metadata: { GENERATOR: 'grpc' } },
      },
      logger: silentLogger,
    } as ConstructorParameters<typeof XdsClient>[0]);
    cleanups.push(() => xds.close());
    const w = new RecordingWatcher<unknown>();
    xds.watch(ClusterResource, 'c1', w);
    expect((await w.next()).kind).toBe('resource');
    xds.watch(ClusterResource, 'missing-not-yet', new RecordingWatcher<unknown>());

    const client = await csdsClient(xds);
    const res = await new Promise<ClientStatusResponse>((resolve, reject) => client.FetchClientStatus({}, (e, r) => (e ? reject(e) : resolve(r!))));
    expect(res.config).toHaveLength(1);
    const config = res.config[0]!;
    expect(config.node['id']).toBe(NODE_ID);
    const byName = new Map(config.generic_xds_configs.map((c) => [c.name, c]));
    const c1 = byName.get('c1')!;
    expect(c1).toMatchObject({ type_url: CLUSTER_TYPE_URL, version_info: 'v7', client_status: 'ACKED' });
    expect(decodeAny(c1.xds_config!)).toMatchObject({ name: 'c1', type: 'EDS' });
    expect(Number(c1.last_updated?.seconds)).toBeGreaterThan(0);
    expect(byName.get('missing-not-yet')).toMatchObject({ client_status: 'REQUESTED', version_info: '' });
  });

  it('answers each request on StreamClientStatus and honours exclude_resource_contents', async () => {
    let version = 1;
    const client = await csdsClient(() => [
      {
        node: { id: NODE_ID },
        generic_xds_configs: [
          { type_url: CLUSTER_TYPE_URL, name: 'c1', version_info: String(version), client_status: 'NACKED', xds_config: { type_url: CLUSTER_TYPE_URL, value: Buffer.from([0x0a, 0x02, 0x63, 0x31]) },
            error_state: { details: 'bad', version_info: String(version + 1), last_update_attempt: { seconds: 5, nanos: 0 } } },
        ],
      },
    ]);
    const stream = client.StreamClientStatus();
    const next = () => new Promise<ClientStatusResponse>((resolve) => stream.once('data', resolve));
    // Each request is answered before the dump changes (no sleep: a loaded machine may answer late).
    const firstResponse = next();
    stream.write({});
    const responses = [await firstResponse];
    version = 2;
    const secondResponse = next();
    stream.write({ exclude_resource_contents: true });
    responses.push(await secondResponse);
    const closed = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('end', () => undefined);
    stream.end();
    // The server ends its side when the client half-closes: a clean OK, not a cancel.
    expect((await closed).code).toBe(grpc.status.OK);
    const [first, second] = responses.map((r) => r.config[0]!.generic_xds_configs[0]!);
    expect(first).toMatchObject({ version_info: '1', client_status: 'NACKED', error_state: { details: 'bad', version_info: '2' } });
    expect(first!.xds_config).toBeDefined();
    expect(second).toMatchObject({ version_info: '2', name: 'c1' });
    expect(second!.xds_config).toBeUndefined();
  });
});
