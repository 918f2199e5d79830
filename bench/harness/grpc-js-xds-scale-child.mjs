// The grpc-js-xds side of the config-scale comparison, in its own process so that its memory,
// CPU and sockets are not charged to the Meshlet measurement: an unmodified @grpc/grpc-js-xds
// client (register(), bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG) opens a channel to the scale
// target and asks it to connect, which resolves LDS -> RDS -> CDS -> EDS over SotW ADS.
// argv: <ADS port> <target>. IPC: { started: epoch ms } just before the channel is made.
// The time to ACK is read at the control plane (ads-scale-child.mjs relays its ACK events).
import { loadGrpcJs, loadGrpcJsXds } from './pkgs.mjs';

const [port, target] = process.argv.slice(2);
const grpc = await loadGrpcJs();
const grpcXds = await loadGrpcJsXds();
process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
  xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: 'sidecar~127.0.0.1~grpc-js-xds-scale.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' }, locality: {} },
});
grpcXds.register();
const started = performance.timeOrigin + performance.now();
process.send({ started });
const channel = new grpc.Channel(`xds:///${target}`, grpc.credentials.createInsecure(), {});
// getConnectivityState(true) leaves IDLE: the resolver starts and the watches follow.
channel.getConnectivityState(true);
process.on('disconnect', () => {
  channel.close();
  process.exit(0);
});
