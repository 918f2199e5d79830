import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { medianAfterWarmup, runSurvivalChild } from './helpers/scavengeSurvival.js';

/**
 * A finished request must be garbage to V8's scavenger, as plain undici's is. If something born in
 * the old generation points into a request (V8's parser pretenures a function literal assigned to a
 * property, e.g. `this.onCancel = () => ...`), the whole request graph survives every scavenge until
 * the next mark-compact; V8 then sees the request's allocation sites survive, tenures them, and from
 * then on allocates every request in old space: about half of Meshlet's added CPU per request on the
 * HTTP path before it was found (bench/HISTORY.md, "V8 pretenuring").
 *
 * Measured in a child process on the built dist with the interpreter only and no pretenuring, so the
 * figure is deterministic: bytes the two scavenges after a run of sequential requests move to old
 * space, per request. Plain undici measures about 0.4 KB; a request graph kept alive costs 4 to 6 KB.
 */
const TOLERANCE_BYTES = 1024;

interface Survival {
  undici: number[];
  meshlet: number[];
}

describe('finished requests do not survive scavenges', () => {
  it('the mesh dispatcher promotes no more per request than plain undici (interpreter, real server on 127.0.0.1)', async () => {
    const s = await runSurvivalChild<Survival>(fileURLToPath(new URL('./fixtures/request-survival-child.mjs', import.meta.url)));
    const undici = medianAfterWarmup(s.undici);
    const meshlet = medianAfterWarmup(s.meshlet);
    expect(meshlet, `promoted bytes per request: meshlet ${meshlet.toFixed(0)}, undici ${undici.toFixed(0)} (rounds: ${JSON.stringify(s)})`).toBeLessThanOrEqual(undici + TOLERANCE_BYTES);
  }, 60_000);
});
