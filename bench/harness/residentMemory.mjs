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

const GiB = 2 ** 30;

/**
 * Resident memory by kind of mapping (Linux /proc/self/smaps; undefined elsewhere), in bytes:
 * - nodeBinary: pages of the node executable touched so far (shared text: a process that runs a
 *   compiler tier for the first time touches more of it);
 * - otherFiles: other file-backed pages (shared libraries, ICU data);
 * - v8Heap: the resident V8 heap spaces, as in heapResident();
 * - wasmCode: anonymous executable pages less V8's code spaces: WebAssembly code (Liftoff and
 *   TurboFan) and other JIT code outside the heap;
 * - wasmMemory: WebAssembly linear memories (a readable mapping between the inaccessible guard
 *   reservations V8 puts around each one, gigabytes each);
 * - mallocAndZones: the rest of the anonymous memory: the main malloc heap, the per-thread malloc
 *   arenas (where V8's background compile jobs allocate their zones), large malloc chunks.
 * Why: the footprint passes could see that a variant was larger outside the V8 heap, not whether
 * that was a wasm module's linear memory, its compiled code, or what compiling it left in malloc.
 */
export function residentByKind() {
  let text;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const maps = [];
  let cur;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) {
      cur = { size: Number(BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`)), perms: m[3], inode: m[4], name: m[5], rss: 0 };
      maps.push(cur);
    } else if (cur && line.startsWith('Rss:')) {
      cur.rss = Number(/(\d+)/.exec(line)[1]) * 1024;
    }
  }
  const kinds = { nodeBinary: 0, otherFiles: 0, v8Heap: heapResident(), wasmCode: 0, wasmMemory: 0, mallocAndZones: 0 };
  let anonExec = 0;
  let anonOther = 0;
  const guard = (m) => m !== undefined && m.perms.startsWith('---') && m.size >= GiB;
  maps.forEach((m, i) => {
    if (m.inode !== '0') {
      if (m.name === process.execPath) kinds.nodeBinary += m.rss;
      else kinds.otherFiles += m.rss;
    } else if (m.name.startsWith('[') && m.name !== '[heap]') {
      // [stack], [vdso], [vvar]: small and the same in every variant.
    } else if (m.perms.includes('x')) {
      anonExec += m.rss;
    } else if (m.perms.startsWith('rw') && guard(maps[i - 1]) && guard(maps[i + 1])) {
      kinds.wasmMemory += m.rss;
    } else {
      anonOther += m.rss;
    }
  });
  let codeSpaces = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name.startsWith('code')) codeSpaces += s.physical_space_size;
  kinds.wasmCode = Math.max(0, anonExec - codeSpaces);
  kinds.mallocAndZones = anonOther - (kinds.v8Heap - codeSpaces);
  return kinds;
}
