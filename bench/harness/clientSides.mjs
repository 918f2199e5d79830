// A side of an overhead scenario as the scenario drives it: load(inFlight, durationMs, maxRequests)
// runs one closed-loop round of its client and returns closedLoop's result plus the client process's
// CPU time per call (cpuUsPerCall); close() ends it. The client runs in a process of its own
// (bench/harness/client-child.mjs, the scenarios' default) or in the scenario's process (--inline).
import { fork } from 'node:child_process';
import { closedLoop } from './load.mjs';

/** `client` ({ send, close }) in this process: its CPU time per call is this whole process's. */
export function inlineSide(client) {
  return {
    async load(inFlight, durationMs, maxRequests) {
      const cpu0 = process.cpuUsage();
      const r = await closedLoop({ send: client.send, inFlight, durationMs, maxRequests });
      const cpu = process.cpuUsage(cpu0);
      return { ...r, cpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, r.requests) };
    },
    close: () => client.close(),
  };
}

/** `kind` ('grpc' | 'http') side `side` in a child process of its own, made with `settings`. */
export async function processSide(kind, side, settings) {
  const child = fork(new URL('./client-child.mjs', import.meta.url), [kind, side, JSON.stringify(settings)], {
    // Under `bench/run.mjs --cpu-prof` each client writes its own profile to the same folder (named by node).
    execArgv: ['--expose-gc', ...process.execArgv.filter((a) => a.startsWith('--cpu-prof') && !a.startsWith('--cpu-prof-name'))],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = (code) => new Error(`${kind} ${side} client exited (${code})`);
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(exited(code)));
    child.once('message', resolve);
  });
  child.removeAllListeners('exit');
  return {
    load: (inFlight, durationMs, maxRequests) =>
      new Promise((resolve, reject) => {
        const onExit = (code) => reject(exited(code));
        child.once('exit', onExit);
        child.once('message', (r) => {
          child.off('exit', onExit);
          resolve(r);
        });
        child.send({ inFlight, durationMs, maxRequests });
      }),
    close: () => child.disconnect(),
  };
}
