// Control plane for the config-scale scenario, in its own process so its memory and CPU are
// not charged to the client: an AdsServer holding N clusters, N ClusterLoadAssignments of
// `endpoints` endpoints each, and one route configuration of N routes behind one listener.
// IPC: reports { ready, port }, relays 'ack' events (type, time, names subscribed), and on
// { cmd: 'change-endpoint', index } replaces one endpoint of cluster `index` (one upsert).
import { loadControlPlane, loadXdsClient } from './pkgs.mjs';
import { listener } from './meshConfig.mjs';

const N = Number(process.argv[2]);
const E = Number(process.argv[3] ?? 10);
export const SCALE_TARGET = 'scale.bench.svc.cluster.local:80';
const ROUTE = 'outbound|80||scale.bench.svc.cluster.local';
const clusterName = (i) => `outbound|80||svc${i}.bench.svc.cluster.local`;
const now = () => performance.timeOrigin + performance.now();
// Endpoints are loopback addresses on a port nothing listens on, so a client that connects
// (grpc-js-xds's round_robin connects to every endpoint it is given) is refused at once
// instead of holding 100,000 half-open connections. Meshlet does not connect to any.
const PORT = 9;

const cp = await loadControlPlane();
const x = await loadXdsClient();
const t0 = now();
const cla = (i, bump = 0) => ({
  cluster_name: clusterName(i),
  endpoints: [
    {
      locality: { region: 'r', zone: 'z' },
      lb_endpoints: Array.from({ length: E }, (_, j) => ({
        endpoint: { address: { socket_address: { address: `127.${(i >> 8) & 255}.${i & 255}.${j + 1}`, port_value: PORT + (j === 0 ? bump : 0) } } },
      })),
    },
  ],
});
const clusters = {};
const endpoints = {};
for (let i = 0; i < N; i++) {
  const name = clusterName(i);
  clusters[name] = x.encodeAny('envoy.config.cluster.v3.Cluster', {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
    connect_timeout: { seconds: 1 },
    lb_policy: 'ROUND_ROBIN',
  });
  endpoints[name] = x.encodeAny('envoy.config.endpoint.v3.ClusterLoadAssignment', cla(i));
}
const routes = Array.from({ length: N }, (_, i) => ({ name: `r${i}`, match: { prefix: `/svc${i}/` }, route: { cluster: clusterName(i) } }));
const routeConfig = x.fromProto3Json(x.RouteConfigurationResource.typeUrl, {
  name: ROUTE,
  virtual_hosts: [{ name: 'scale', domains: [SCALE_TARGET, 'scale.bench.svc.cluster.local'], routes }],
});
const lds = x.fromProto3Json(x.ListenerResource.typeUrl, listener(SCALE_TARGET, ROUTE));

const ads = new cp.AdsServer({ grpcOptions: { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 } });
const { port } = await ads.listen(0, '127.0.0.1');
ads.setResources(x.CLUSTER_TYPE_URL, clusters);
ads.setResources(x.CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, endpoints);
ads.setResources(x.ROUTE_CONFIGURATION_TYPE_URL, { [ROUTE]: routeConfig });
ads.setResources(x.LISTENER_TYPE_URL, { [SCALE_TARGET]: lds });
const buildMs = now() - t0;

// Names subscribed per type: SotW requests carry the whole list, delta ones the changes.
const subscribed = {};
const lastRequestNames = {};
ads.events.on('request', (e) => {
  if (!e.delta) lastRequestNames[e.typeUrl] = e.resourceNames.length;
  else {
    const set = (subscribed[e.typeUrl] ??= new Set());
    for (const n of e.resourceNames) set.add(n);
    for (const n of e.resourceNamesUnsubscribe ?? []) set.delete(n);
    lastRequestNames[e.typeUrl] = set.size;
  }
});
ads.events.on('ack', (e) => {
  process.send({ ack: { typeUrl: e.typeUrl, at: now(), delta: e.delta, subscribed: lastRequestNames[e.typeUrl] ?? 0, nodeId: e.nodeId } });
});
ads.events.on('nack', (e) => process.send({ nack: { typeUrl: e.typeUrl, message: e.errorDetail?.message?.slice(0, 300) } }));

// BENCH_CHANGE_WITH_SET_RESOURCES=1 makes each change a setResources of all N CLAs, as before
// upsertResources existed: the same build then compares the two in the same minute.
const WHOLE_SET = process.env.BENCH_CHANGE_WITH_SET_RESOURCES === '1';
let bump = 0;
process.on('message', (m) => {
  if (m.cmd === 'change-endpoint') {
    bump++;
    const name = clusterName(m.index);
    // upsertResources re-encodes and re-hashes only this CLA and tells each stream only its
    // name: setResources of all N re-hashed every CLA, walked every subscription and left N
    // stored entries of garbage per change (34 ms of the child's CPU per change at N = 10,000).
    const changed = x.encodeAny('envoy.config.endpoint.v3.ClusterLoadAssignment', cla(m.index, bump));
    const before = now();
    if (WHOLE_SET) {
      endpoints[name] = changed;
      ads.setResources(x.CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, endpoints);
    } else {
      ads.upsertResources(x.CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, { [name]: changed });
    }
    const after = now();
    process.send({ changed: { index: m.index, port: PORT + bump, before, after } });
  }
});
process.on('disconnect', async () => {
  await ads.close();
  process.exit(0);
});
process.send({ ready: true, port, buildMs, clusterNames: [clusterName(0), clusterName(N - 1)], route: ROUTE });
