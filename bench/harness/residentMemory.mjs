// Where a process's resident memory is, beyond process.memoryUsage(): RSS of anonymous pages
// (heap, malloc, JIT, wasm) from /proc/self/status, and how much of it is not the V8 heap.
// The footprint passes found Meshlet's process 7 to 9 MB larger than bare undici outside the
// V8 heap (malloc arenas and compiler zones kept after start-up), and bare itself bimodal there.
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

/** Resident anonymous memory in bytes (Linux; 0 elsewhere). */
export function residentAnonymous() {
  try {
    const kb = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident pages of every V8 heap space (young generation included). */
export function heapResident() {
  let total = 0;
  for (const s of getHeapSpaceStatistics()) total += s.physical_space_size;
  return total;
}

/** Anonymous resident memory that is not V8 heap: malloc (compiler zones, native modules), wasm memory. */
export function residentOutsideHeap() {
  return residentAnonymous() - heapResident();
}
