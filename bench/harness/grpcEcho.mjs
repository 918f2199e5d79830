// The gRPC overhead scenario's parts, shared by the bench tools that drive its sides
// (bench/scenarios/grpc-overhead.mjs, bench/harness/client-child.mjs, bench/instructions.mjs and its
// child, bench/profile-grpc.mjs): the backend (a grpc-js Buffer echo in a child process), the
// istiod-shaped mesh for it, and each side's client.
import { fork } from 'node:child_process';
import { listener, toObjectForm } from './meshConfig.mjs';
import { loadCore, loadGrpc, loadGrpcJs, loadGrpcJsXds, loadXdsClient } from './pkgs.mjs';

const HOST = 'greeter.bench.local';
const PORT = 50051;
const TARGET = `${HOST}:${PORT}`;
const ROUTE = `outbound|${PORT}||${HOST}`;
const CLUSTER = `outbound|${PORT}||${HOST}`;
/** What the Meshlet and grpc-js-xds clients dial. */
export const ECHO_TARGET = `xds:///${TARGET}`;
export const ECHO_PAYLOAD_BYTES = 64;

/**
 * The retry policy istiod puts on every HTTP route it generates unless a VirtualService says otherwise
 * (as in the real Istio dumps under shared/fixtures/xds-real/). With it a call may take a second attempt:
 * its first attempt still runs as a DirectCall, and the policy's classification of each outcome is
 * what a call pays on top. `--istio-retry` shows what an istiod-driven mesh pays.
 */
export const ISTIO_DEFAULT_RETRY_POLICY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
  host_selection_retry_max_attempts: '5',
  retriable_status_codes: [503],
};

/** The istiod-shaped mesh for one backend port, as proto3 JSON (also used by bench/profile-grpc.mjs). */
export function greeterMesh(port, { istioRetry = false, generateRequestId = true } = {}) {
  const route = { cluster: CLUSTER, timeout: '0s', ...(istioRetry ? { retry_policy: ISTIO_DEFAULT_RETRY_POLICY } : {}) };
  return {
    listeners: [listener(TARGET, ROUTE, generateRequestId ? {} : { generate_request_id: false })],
    routes: [{ name: ROUTE, virtual_hosts: [{ name: TARGET, domains: [HOST, TARGET], routes: [{ name: 'default', match: { prefix: '/' }, route }] }] }],
    clusters: [{ name: CLUSTER, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: CLUSTER }, connect_timeout: '1s', lb_policy: 'ROUND_ROBIN' }],
    endpoints: [
      {
        cluster_name: CLUSTER,
        endpoints: [
          {
            locality: { region: 'local', zone: 'a' },
            load_balancing_weight: 1,
            lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, load_balancing_weight: 1 }],
          },
        ],
      },
    ],
  };
}

/** A StaticResourceSource (of the @meshlet/xds-client module `x`) holding the mesh in object form. */
export function staticSourceOf(x, objects) {
  const source = new x.StaticResourceSource();
  source.replaceFromObjects(x.ClusterLoadAssignmentResource, objects.endpoints);
  source.replaceFromObjects(x.ClusterResource, objects.clusters);
  source.replaceFromObjects(x.RouteConfigurationResource, objects.routes);
  source.replaceFromObjects(x.ListenerResource, objects.listeners);
  return source;
}

/** A grpc-js client constructor (of the grpc-js module `grpc`) for the backend's Buffer echo, /meshlet.bench.Echo/Echo (no .proto). */
export function echoClientOf(grpc) {
  const identity = (b) => b;
  return grpc.makeGenericClientConstructor(
    { Echo: { path: '/meshlet.bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    'Echo',
  );
}

/** Points @grpc/grpc-js-xds at the AdsServer on `adsPort` (its bootstrap, read when register() runs). */
export function useGrpcJsXdsBootstrap(adsPort) {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~grpc-bench.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' }, locality: {} },
  });
}

export function startBackend() {
  const child = fork(new URL('./grpc-backend-child.mjs', import.meta.url), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`grpc backend exited (${code})`)));
    child.once('message', (m) => resolve({ port: m.port, close: () => child.disconnect() }));
  });
}

/** The workspace's builds; bench/harness/instructions-child.mjs passes another tree's (--tree). */
export const WORKSPACE_PACKAGES = { grpcJs: loadGrpcJs, grpcJsXds: loadGrpcJsXds, core: loadCore, xdsClient: loadXdsClient, grpc: loadGrpc, meshletGrpcJs: loadGrpcJs };

/**
 * One side's client: { send, close }, `send()` one unary echo call. Sides: plain (grpc-js to
 * 127.0.0.1:PORT), meshlet (createMeshChannel over a Mesh on a StaticResourceSource holding
 * greeterMesh), xds (@grpc/grpc-js-xds against the AdsServer on `adsPort`; it reads its bootstrap
 * when register() runs, once per process). settings: { grpcPort, adsPort, istioRetry, resolveTimeoutMs }.
 * `packages.meshletGrpcJs` is the grpc-js the Meshlet side's Client comes from: the copy @meshlet/grpc
 * itself resolves, so that one module instance serves both, as in an application.
 */
export async function grpcEchoClient(side, settings, packages = WORKSPACE_PACKAGES) {
  const grpc = side === 'meshlet' ? await packages.meshletGrpcJs() : await packages.grpcJs();
  const Echo = echoClientOf(grpc);
  const insecure = grpc.credentials.createInsecure();
  // Own subchannel pool per client: plain and grpc-js-xds in one process would otherwise share one connection.
  const own = { 'grpc.use_local_subchannel_pool': 1 };
  let client;
  let mesh;
  if (side === 'plain') {
    client = new Echo(`127.0.0.1:${settings.grpcPort}`, insecure, own);
  } else if (side === 'xds') {
    useGrpcJsXdsBootstrap(settings.adsPort);
    (await packages.grpcJsXds()).register();
    client = new Echo(ECHO_TARGET, insecure, own);
  } else if (side === 'meshlet') {
    const [{ Mesh }, x, { createMeshChannel }] = await Promise.all([packages.core(), packages.xdsClient(), packages.grpc()]);
    const objects = await toObjectForm(greeterMesh(settings.grpcPort, { istioRetry: settings.istioRetry, generateRequestId: settings.generateRequestId !== false }));
    mesh = await Mesh.create({ source: staticSourceOf(x, objects), resolveTimeoutMs: settings.resolveTimeoutMs ?? 5000 });
    client = new Echo(ECHO_TARGET, insecure, { channelOverride: await createMeshChannel(ECHO_TARGET, { mesh }) });
  } else {
    throw new Error(`grpc side ${side}: expected plain, meshlet or xds`);
  }
  const payload = Buffer.alloc(ECHO_PAYLOAD_BYTES, 7);
  const send = () => new Promise((resolve, reject) => client.Echo(payload, (err, res) => (err ? reject(err) : resolve(res))));
  const close = () => {
    client.close();
    mesh?.close();
  };
  return { send, close };
}

/** One call that must answer with the payload within 10 s (grpc-js-xds resolves over ADS on its first call). */
export async function firstEchoCall(side, send) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${side}: no answer in 10 s`)), 10_000)));
  const r = await Promise.race([send(), timeout]).finally(() => clearTimeout(timer));
  if (!Buffer.isBuffer(r) || r.length !== ECHO_PAYLOAD_BYTES) throw new Error(`${side}: bad answer`);
}
