import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { applyMesh } from './helpers/meshConfig.js';
import { meshHarness } from './helpers/harness.js';

/**
 * Footprint: a mesh whose config comes from a StaticResourceSource never opens an xDS channel,
 * so serving real traffic from it must not load @grpc/grpc-js (xds-client requires it on first
 * use). Vitest's forks pool runs each test file in a fresh process, so Node's module cache here
 * holds only what this file's imports loaded.
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness(`http://${TARGET}`);
const cache = createRequire(import.meta.url).cache;
const grpcJsLoaded = (): boolean => Object.keys(cache).some((path) => path.includes('/@grpc/grpc-js/'));

describe('a static mesh does not load @grpc/grpc-js', () => {
  it('routes real requests from a StaticResourceSource with grpc-js absent from the module cache', async () => {
    const { backends, source, dispatcher } = await setup(1);
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c0', ports: [backends[0]!.port] }] });
    for (let i = 0; i < 3; i++) expect((await get(dispatcher, '/reviews/1')).status).toBe(200);
    expect(grpcJsLoaded()).toBe(false);

    // The check sees grpc-js once it is loaded (as xds-client loads it for an xDS server), so the
    // assertion above is not vacuous. The http package does not depend on grpc-js; xds-client does.
    createRequire(new URL('../../xds-client/package.json', import.meta.url))('@grpc/grpc-js');
    expect(grpcJsLoaded()).toBe(true);
  });
});
