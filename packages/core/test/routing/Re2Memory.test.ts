/**
 * re2-wasm compiles into a fixed 16 MiB WebAssembly heap and frees nothing by itself. A process that
 * sees a few thousand distinct regexes over its life (config pushes whose regex matchers change) must
 * keep working: programs of patterns no RouteTable holds any more are freed once collected. Before, every
 * pattern ever seen stayed compiled and re2-wasm aborted ("Cannot enlarge memory arrays") within the
 * second batch below, after which no regex compiled or matched.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { compileFullMatch, compileGlobalSearch } from '../../src/routing/Re2Pattern.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Full GCs with turns in between, so FinalizationRegistry callbacks run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('RE2 programs of patterns no config holds any more are freed', () => {
  it('compiles 5 x 3,000 distinct route regexes, one config at a time, and every one still matches', { timeout: 120_000 }, async () => {
    for (let push = 0; push < 5; push++) {
      // One "config": 3,000 distinct patterns alive together, as a route table would hold them.
      const live = Array.from({ length: 3000 }, (_, i) => compileFullMatch(`/api/v${push}_${i}/(users|orders)/[0-9]+(\\.json)?`, 'routes[0].match.safe_regex.regex'));
      // Plain patterns compile on their first match: match each once, so all 3,000 programs are in the heap together.
      for (const re of live) re.test('/');
      expect(live[2999]!.test(`/api/v${push}_2999/orders/42.json`)).toBe(true);
      expect(live[0]!.test(`/api/v${push}_0/carts/42`)).toBe(false);
      live.length = 0;
      await collect();
    }
    // The module is alive and well: compile and match once more, both modes.
    expect(compileFullMatch('[a-z]+-[0-9]+', 'x').test('svc-42')).toBe(true);
    expect('a-1 b-2'.replace(compileGlobalSearch('-[0-9]', 'y'), '')).toBe('a b');
  });

  it('a pattern still held is the same compiled object (no recompile per push)', () => {
    const a = compileFullMatch('/held/[0-9]+', 'x');
    const b = compileFullMatch('/held/[0-9]+', 'x');
    expect(b).toBe(a);
  });
});
