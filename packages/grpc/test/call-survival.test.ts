import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { medianAfterWarmup, runSurvivalChild } from '../../http/test/helpers/scavengeSurvival.js';

/**
 * A finished gRPC call must be no more garbage-resistant than plain grpc-js's. grpc-js's own call
 * objects stay reachable from the old generation for a while after a call (plain grpc-js promotes
 * about 11 KB per call below), and a MeshChannel call's attempt is such an object's listener: if the
 * attempt still pointed at the engine's call state, and the call at the caller's listener, all of it
 * would be promoted with them (2 KB more per call before the attempt and the call let go of them at
 * their end; V8 then tenured about 10 more allocation sites than for plain grpc-js).
 *
 * Measured in a child process on the built dist with the interpreter only and no pretenuring, so the
 * figure is deterministic: bytes the two scavenges after a run of sequential calls move to old space,
 * per call, for a plain grpc-js client and a MeshChannel client to the same server.
 */
const TOLERANCE_BYTES = 1024;

interface Survival {
  grpcjs: number[];
  meshlet: number[];
}

describe('finished gRPC calls do not survive scavenges beyond what grpc-js keeps', () => {
  it('a MeshChannel call promotes no more per call than a plain grpc-js call (interpreter, real server on 127.0.0.1)', async () => {
    const s = await runSurvivalChild<Survival>(fileURLToPath(new URL('./fixtures/call-survival-child.mjs', import.meta.url)));
    const grpcjs = medianAfterWarmup(s.grpcjs);
    const meshlet = medianAfterWarmup(s.meshlet);
    expect(meshlet, `promoted bytes per call: meshlet ${meshlet.toFixed(0)}, grpc-js ${grpcjs.toFixed(0)} (rounds: ${JSON.stringify(s)})`).toBeLessThanOrEqual(grpcjs + TOLERANCE_BYTES);
  }, 60_000);
});
