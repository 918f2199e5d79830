import { createRequire } from 'node:module';
import type { RE2 as RE2Class } from 're2-wasm';

let ctor: typeof RE2Class | undefined;

/**
 * The RE2 constructor, loaded on first use. re2-wasm reserves about 17 MB of
 * WebAssembly memory when its module loads, so a process whose config has no
 * regex (most proxyless configs) never pays for it.
 */
export function loadRe2(): typeof RE2Class {
  return (ctor ??= (createRequire(import.meta.url)('re2-wasm') as typeof import('re2-wasm')).RE2);
}
