// One side's client in a process of its own, for the overhead scenarios (bench/scenarios/grpc-overhead.mjs
// and http-overhead.mjs, their default mode): a service runs one client stack, so each side gets a V8
// heap, JIT feedback and event loop of its own, as it would in production. In one process the sides
// share the libraries' code (grpc-js, undici): its call sites see every side's objects, and one side's
// garbage and compiles land in another's rounds.
//   fork(client-child.mjs, ['grpc' | 'http', side, JSON settings]); then messages { inFlight, durationMs, maxRequests }
// Replies { ready } once one call has answered (else it exits with the error), then one closedLoop
// result per message, with this process's CPU time per call.
import { closedLoop } from './load.mjs';
import { firstEchoCall, grpcEchoClient } from './grpcEcho.mjs';
import { httpBenchClient } from './httpBenchClient.mjs';

const [kind, side, settingsJson] = process.argv.slice(2);
const settings = JSON.parse(settingsJson);
let client;
if (kind === 'grpc') {
  client = await grpcEchoClient(side, settings);
  await firstEchoCall(side, client.send);
} else {
  client = await httpBenchClient(side, settings.ports);
}
const { send, close } = client;
process.on('message', async ({ inFlight, durationMs, maxRequests }) => {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop({ send, inFlight, durationMs, maxRequests });
  const cpu = process.cpuUsage(cpu0);
  process.send({ ...r, cpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, r.requests) });
});
process.on('disconnect', async () => {
  await close();
  process.exit(0);
});
process.send({ ready: true });
