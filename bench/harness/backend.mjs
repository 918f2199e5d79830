import { fork } from 'node:child_process';

/** Starts backend-child.mjs with one port per label; returns { ports: {label: port}, close() }. */
export async function startBackends(labels) {
  const child = fork(new URL('./backend-child.mjs', import.meta.url), [labels.join(',')], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.ports));
    child.once('exit', (code) => reject(new Error(`backend exited with ${code}`)));
  });
  return {
    ports,
    pid: child.pid,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
