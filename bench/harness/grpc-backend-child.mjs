// A loopback gRPC backend in its own process (the server's CPU is not charged to the client
// being measured): one grpc-js Server on 127.0.0.1 with a generic Buffer service (no .proto),
// /meshlet.bench.Echo/Echo answering the request bytes back. Reports its port over IPC and
// exits when the parent disconnects.
import { loadGrpcJs } from './pkgs.mjs';

const grpc = await loadGrpcJs();
const identity = (b) => b;
export const ECHO_SERVICE = {
  Echo: {
    path: '/meshlet.bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const server = new grpc.Server();
server.addService(ECHO_SERVICE, { Echo: (call, callback) => callback(null, call.request) });
const port = await new Promise((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
process.send({ port });
process.on('disconnect', () => process.exit(0));
