import os from 'node:os';
import { execFileSync } from 'node:child_process';

/** The machine a run happened on, with the load average when it started (the VM is shared). */
export function machineInfo() {
  let uptime = '';
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = `loadavg ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`;
  }
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadavg: os.loadavg().map((l) => +l.toFixed(2)),
    uptime,
  };
}
