// The share of a callgrind run's instructions spent in V8's garbage collector (bench/instructions.mjs).
// Among runs of one build, the counted calls' totals differ by up to 6% (e.g. 398k against 424k per call)
// almost all of it in the one scavenge that falls among them: what it costs depends on what the young
// generation holds then, not on the calls' own work. Outside GC the same runs agree within about 0.5%
// (350.2k..351.8k), so a change of a few hundred instructions per call shows there.
import { readFileSync } from 'node:fs';

/**
 * V8's GC by C++ name: the scavenger and its visitors, heap bookkeeping, sweeping and marking. A
 * JIT frame (named by its address) never matches. Run on another node version, check the split with
 * callgrind_annotate.
 */
const GC_FUNCTION =
  /Scaveng|heap::base|Heap::|MemoryChunk|Evacuat|Pretenuring|SemiSpace|RememberedSet|SlotSet|Sweeper|MarkCompact|ConcurrentMarking|GlobalHandles|PromotedObject|LargeObjectSpace|NewSpace|PagedSpace|MinorMarkSweep|ArrayBufferSweeper|IncrementalMarking|GCTracer|LocalHeap|CollectGarbage|Safepoint::|EphemeronTable|WeakObjects|StringForwarding|ExternalStringTable|BodyDescriptor|SizeFromMap|Visitor|HeapObject::/;

/**
 * Instructions (Ir, the first event) of a callgrind output file: the total of every function's own
 * cost, and the part of it in functions GC_FUNCTION names.
 */
export function callgrindGcShare(file) {
  const names = new Map();
  let total = 0;
  let gc = 0;
  let inGc = false;
  // A `calls=` line is followed by the callee's inclusive cost, which is not the caller's own.
  let callCost = false;
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    if (line.startsWith('fn=')) {
      const m = /^fn=\((\d+)\)(?: (.*))?$/.exec(line);
      if (m) {
        if (m[2] !== undefined) names.set(m[1], m[2]);
        inGc = GC_FUNCTION.test(names.get(m[1]) ?? '');
      }
      continue;
    }
    if (line.startsWith('cfn=')) {
      const m = /^cfn=\((\d+)\) (.*)$/.exec(line);
      if (m) names.set(m[1], m[2]);
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    const c = line.charCodeAt(0);
    if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42)) continue; // a cost line: position, then events
    if (callCost) {
      callCost = false;
      continue;
    }
    const ir = Number(line.split(' ')[1] ?? 0);
    total += ir;
    if (inGc) gc += ir;
  }
  return { total, gc };
}
