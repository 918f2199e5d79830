// One side's gRPC client in its own process, for bench/scenarios/grpc-overhead.mjs (its default mode):
// a service runs one client stack, not three, so each side gets a V8 heap, JIT feedback and event
// loop of its own, as it would in production. In one process the sides share grpc-js's code: its
// call sites see three stacks' objects, and one side's garbage and compiles land in another's rounds.
//   fork(grpc-client-child.mjs, [side, JSON settings]); then messages { inFlight, durationMs, maxRequests }
// Replies { ready } once one call has answered (else it exits with the error), then one closedLoop result per message, with the
// client process's CPU time per call.
import { closedLoop } from './load.mjs';
import { firstEchoCall, grpcEchoClient } from './grpcEcho.mjs';

const [side, settingsJson] = process.argv.slice(2);
const { send, close } = await grpcEchoClient(side, JSON.parse(settingsJson));
await firstEchoCall(side, send);
process.on('message', async ({ inFlight, durationMs, maxRequests }) => {
  const cpu0 = process.cpuUsage();
  const r = await closedLoop({ send, inFlight, durationMs, maxRequests });
  const cpu = process.cpuUsage(cpu0);
  process.send({ ...r, cpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, r.requests) });
});
process.on('disconnect', () => {
  close();
  process.exit(0);
});
process.send({ ready: true });
