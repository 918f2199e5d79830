import { createRequire } from 'node:module';
import type { RE2 as RE2Class } from 're2-wasm';
import { isPlainRe2 } from './PlainRe2Syntax.js';

let ctor: typeof RE2Class | undefined;

/**
 * The RE2 constructor, loaded on first use. re2-wasm reserves about 17 MB of
 * WebAssembly memory when its module loads, so a process whose config has no
 * regex (most proxyless configs) never pays for it.
 */
export function loadRe2(): typeof RE2Class {
  return (ctor ??= (createRequire(import.meta.url)('re2-wasm') as typeof import('re2-wasm')).RE2);
}

/** The native (Emscripten) half of a re2-wasm RE2: its compiled program in the module's heap. */
interface NativeRe2 {
  delete(): void;
}

/*
 * re2-wasm compiles each pattern into its WebAssembly heap, a fixed 16 MiB that cannot grow, and
 * never frees it: its RE2 class has no dispose method and no finalizer. A process that compiled a
 * few thousand distinct patterns over its life (config pushes with changing regex matchers) ran the
 * heap out; the module then aborts ("Cannot enlarge memory arrays") and no regex works again. So every
 * RE2 made here frees its native half once the JS object is collected, and a pattern compiled only to
 * be checked is freed at once. The native half is re2-wasm's `wrapper` field (an Embind object);
 * `re2-internals.test.ts` fails if an upgrade renames it.
 */
const natives = new FinalizationRegistry<NativeRe2>((native) => {
  try {
    native.delete();
  } catch {
    // Already deleted: nothing to free (a finalizer must never throw into the host process).
  }
});

function nativeOf(re: RE2Class): NativeRe2 | undefined {
  const wrapper = (re as unknown as { wrapper?: Partial<NativeRe2> }).wrapper;
  return typeof wrapper?.delete === 'function' ? (wrapper as NativeRe2) : undefined;
}

/** A compiled RE2 whose native memory is freed when it is collected. Throws re2-wasm's SyntaxError for a bad pattern. */
export function compileRe2(source: string, flags: string): RE2Class {
  const re = new (loadRe2())(source, flags);
  const native = nativeOf(re);
  if (native !== undefined) natives.register(re, native);
  return re;
}

/** Checks that `source` compiles (throws re2-wasm's SyntaxError if not), freeing the compiled program at once. */
export function checkRe2(source: string, flags: string): void {
  const re = new (loadRe2())(source, flags);
  try {
    nativeOf(re)?.delete();
  } catch {
    // Nothing to free.
  }
}

/**
 * What checking each pattern found: '' when it compiles, else re2-wasm's reason. Repeated pushes of
 * the same config do not recompile, and a control plane that keeps re-sending a bad pattern does not
 * leak: re2-wasm cannot free the native memory of a pattern that fails to compile (its constructor
 * throws before returning the object that holds it). Bounded: cleared when full.
 */
const checked = new Map<string, string>();
const CHECKED_LIMIT = 10_000;

/**
 * '' when `source` compiles as RE2 (flags 'u'), else re2-wasm's reason. A pattern in the plain
 * subset PlainRe2Syntax.ts knows is accepted without loading re2-wasm; any other is compiled once
 * and its verdict kept.
 */
export function re2Problem(source: string): string {
  let problem = checked.get(source);
  if (problem === undefined) {
    problem = '';
    if (!isPlainRe2(source)) {
      try {
        checkRe2(source, 'u');
      } catch (err) {
        problem = (err as Error).message;
      }
    }
    if (checked.size >= CHECKED_LIMIT) checked.clear();
    checked.set(source, problem);
  }
  return problem;
}
