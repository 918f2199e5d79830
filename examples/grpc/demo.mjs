// The gRPC demo: proxyless gRPC on both sides of the call, all driven by one in-process
// xDS server (AdsServer), the way istiod drives proxyless gRPC under Istio. It shows, live:
//   1. two greeter versions, each a MeshServer (gRFC A36 xDS-managed server) that starts
//      serving only once its inbound Listener arrives over xDS;
//   2. RBAC on those servers (gRFC A41): SayHello allowed for any caller, Admin denied;
//   3. a Meshlet client (createMeshChannel) splitting calls 80/20 between v1 and v2, as the
//      VirtualService in mesh.yaml says, then 50/50 after the demo pushes new weights.
// One XdsClient (one ADS stream) serves the two servers and the client, as in a real process.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { AdsServer, translateMesh } from '@meshlet/control-plane';
import { Mesh } from '@meshlet/core';
import { MeshServer, MeshServerCredentials, createMeshChannel } from '@meshlet/grpc';
import { XdsClient, encodeAny } from '@meshlet/xds-client';

const PHASE_MS = Number(process.env.MESHLET_DEMO_PHASE_MS ?? 4000);
const CONCURRENCY = 8;
const TARGET = 'greeter.demo.local:50051';
const here = import.meta.dirname;

// --- The greeter service, without .proto files: JSON messages over raw Buffers.
const json = {
  serialize: (value) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes) => JSON.parse(bytes.toString()),
};
const unaryMethod = (path) => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const GreeterService = {
  SayHello: unaryMethod('/greeter.Greeter/SayHello'),
  SayGoodbye: unaryMethod('/greeter.Greeter/SayGoodbye'),
  Admin: unaryMethod('/greeter.Greeter/Admin'),
};
const GreeterClient = grpc.makeGenericClientConstructor(GreeterService, 'Greeter');

// --- The control plane, and the process's one xDS client (the bootstrap istio-agent would write).
const ads = new AdsServer();
const nacks = [];
ads.events.on('nack', (event) => nacks.push(event));
const { port: adsPort } = await ads.listen(0);
const xdsClient = new XdsClient({
  bootstrap: {
    xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~greeter-demo.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' } },
    server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
  },
});

// --- Two versions of the greeter, each an xDS-managed server on a free loopback port.
async function startVersion(version) {
  const server = new MeshServer({
    xdsClient,
    drainGraceTimeMs: 500,
    onServingStatus: (address, status) =>
      console.log(`   ${version} on ${address}: ${status.code === grpc.status.OK ? 'SERVING' : `NOT SERVING (${status.details})`}`),
  });
  const reply = (message) => (call, callback) => callback(null, { version, message: message(call.request) });
  server.addService(GreeterService, {
    SayHello: reply((req) => `hello ${req.name} from ${version}`),
    SayGoodbye: reply((req) => `goodbye ${req.name} from ${version}`),
    Admin: reply(() => `admin console of ${version}`),
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', new MeshServerCredentials(grpc.ServerCredentials.createInsecure()), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { version, server, port };
}
console.log('== starting greeter v1 and v2 as MeshServers: they wait for their Listener from xDS');
const v1 = await startVersion('v1');
const v2 = await startVersion('v2');

// --- Client-side resources: mesh.yaml (Istio) translated into what istiod's grpc generator sends.
const meshYaml = readFileSync(`${here}/mesh.yaml`, 'utf8').replaceAll('19091', String(v1.port)).replaceAll('19092', String(v2.port));
const outbound = (yaml) => translateMesh(yaml, { file: 'mesh.yaml' });

// --- Server-side resources: the inbound Listener istiod sends a proxyless gRPC server, one per
// bound address, with an inline NonForwardingAction route and the RBAC filters an
// AuthorizationPolicy pair becomes. In Istio terms:
//   AuthorizationPolicy greeter-deny-admin  (action DENY):  to.operation.paths [/greeter.Greeter/Admin]
//   AuthorizationPolicy greeter-allow-hello (action ALLOW): to.operation.paths [/greeter.Greeter/SayHello], any source
// DENY policies run first; with an ALLOW policy present, anything it does not allow is denied.
const pathIs = (path) => ({ and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { exact: path } } }] } }] } });
const anyone = { and_ids: { ids: [{ any: true }] } };
const rbac = (action, policy, path) => ({
  name: 'envoy.filters.http.rbac',
  typed_config: encodeAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
    rules: { action, policies: { [`ns[default]-policy[${policy}]-rule[0]`]: { permissions: [pathIs(path)], principals: [anyone] } } },
  }),
});
function inboundListener({ port }) {
  const hcm = {
    stat_prefix: `inbound|${port}`,
    route_config: {
      name: 'inbound',
      virtual_hosts: [{ name: 'inbound|grpc', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }] }],
    },
    http_filters: [
      rbac('DENY', 'greeter-deny-admin', '/greeter.Greeter/Admin'),
      rbac('ALLOW', 'greeter-allow-hello', '/greeter.Greeter/SayHello'),
      { name: 'envoy.filters.http.router', typed_config: encodeAny('envoy.extensions.filters.http.router.v3.Router', {}) },
    ],
  };
  return {
    name: `xds.istio.io/grpc/lds/inbound/127.0.0.1:${port}`,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    traffic_direction: 'INBOUND',
    filter_chains: [
      {
        name: `inbound|${port}`,
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: encodeAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm) }],
      },
    ],
  };
}

// Before its Listener arrives a MeshServer accepts no calls: a plain grpc-js call straight to v1 fails.
const direct = new GreeterClient(`127.0.0.1:${v1.port}`, grpc.credentials.createInsecure());
const early = await new Promise((resolve) => direct.SayHello({ name: 'early' }, { deadline: Date.now() + 500 }, (err) => resolve(err)));
direct.close();
console.log(`   a direct call to v1 before its Listener: ${early ? grpc.status[early.code] : 'OK (unexpected)'}`);
console.log('   pushing mesh.yaml (outbound) and the two inbound Listeners (with RBAC) to the AdsServer');
const mesh80 = outbound(meshYaml);
ads.setSnapshot({ ...mesh80, listeners: [...mesh80.listeners, inboundListener(v1), inboundListener(v2)] });
while (!v1.server.isServing(v1.port) || !v2.server.isServing(v2.port)) await sleep(10);

// --- The client: a grpc-js generic client whose channel is a Meshlet MeshChannel.
const meshState = await Mesh.create({ source: xdsClient });
const channel = await createMeshChannel(`xds:///${TARGET}`, { mesh: meshState });
const client = new GreeterClient(`xds:///${TARGET}`, grpc.credentials.createInsecure(), { channelOverride: channel });
const call = (method, request = { name: 'demo' }) =>
  new Promise((resolve) =>
    client[method](request, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (err, res) => resolve(err ? { err } : { res })),
  );

console.log(`\n== RBAC on the servers, called through the mesh (xds:///${TARGET})`);
for (const method of ['SayHello', 'Admin', 'SayGoodbye']) {
  const { err, res } = await call(method);
  console.log(`   ${method.padEnd(10)} -> ${err ? `${grpc.status[err.code]}: ${err.details}` : `OK: ${res.message}`}`);
}
const adminDenied = (await Promise.all(Array.from({ length: 10 }, () => call('Admin')))).filter((r) => r.err?.code === grpc.status.PERMISSION_DENIED).length;
console.log(`   Admin denied on ${adminDenied}/10 calls`);

// --- A steady stream of SayHello calls, counted per version.
const counts = { v1: 0, v2: 0, failed: 0 };
let running = true;
async function caller() {
  while (running) {
    const { err, res } = await call('SayHello');
    if (err) counts.failed++;
    else counts[res.version]++;
  }
}
const callers = Array.from({ length: CONCURRENCY }, caller);
const totals = { v1: 0, v2: 0, failed: 0 };

function bar(share) {
  const n = Math.round(share * 40);
  return '#'.repeat(n) + '.'.repeat(40 - n);
}
async function phase(title, ms) {
  console.log(`\n== ${title}`);
  const phaseTotals = { v1: 0, v2: 0, failed: 0 };
  const end = Date.now() + ms;
  while (Date.now() < end) {
    counts.v1 = counts.v2 = counts.failed = 0;
    await sleep(500);
    const total = counts.v1 + counts.v2 + counts.failed || 1;
    for (const k of ['v1', 'v2', 'failed']) phaseTotals[k] += counts[k];
    console.log(
      `v1 ${((100 * counts.v1) / total).toFixed(1).padStart(5)}% ${bar(counts.v1 / total)}  v2 ${((100 * counts.v2) / total).toFixed(1).padStart(5)}%` +
        `  failed ${counts.failed}  (${total} calls/0.5s)`,
    );
  }
  const all = phaseTotals.v1 + phaseTotals.v2 + phaseTotals.failed || 1;
  console.log(`   phase total: v1 ${((100 * phaseTotals.v1) / all).toFixed(1)}%, v2 ${((100 * phaseTotals.v2) / all).toFixed(1)}%, failed ${phaseTotals.failed}`);
  for (const k of ['v1', 'v2', 'failed']) totals[k] += phaseTotals[k];
}

await phase('80/20: the VirtualService in mesh.yaml routes 80% of calls to v1, 20% to v2', PHASE_MS);

// Shift the weights: translate the edited VirtualService and push only the route configuration
// (listeners, clusters and endpoints are unchanged, so the servers are not touched).
const mesh50 = outbound(meshYaml.replace('weight: 80', 'weight: 50').replace('weight: 20', 'weight: 50'));
ads.setSnapshot({ routes: mesh50.routes });
await phase('50/50: new weights pushed by the AdsServer (RDS update), picked up without a reconnect', PHASE_MS);

running = false;
await Promise.all(callers);
client.close();
meshState.close();
await Promise.all([v1, v2].map(({ server }) => new Promise((resolve) => server.tryShutdown(() => resolve()))));
await xdsClient.close();
await ads.close();

if (nacks.length > 0 || totals.failed > 0 || adminDenied !== 10 || !early) {
  console.error(`\nunexpected: ${nacks.length} NACKs, ${totals.failed} failed calls, Admin denied ${adminDenied}/10, early call ${early ? 'failed' : 'served'}`);
  process.exitCode = 1;
} else {
  console.log('\ndone: both servers served only once xDS configured them, RBAC denied Admin, and the split followed the pushed weights.');
}
