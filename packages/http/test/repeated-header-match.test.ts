import { describe, expect, it } from 'vitest';
import { applyMesh } from './helpers/meshConfig.js';
import { meshHarness } from './helpers/harness.js';

/**
 * Envoy 1.39 matches a request header sent as several entries entry by entry
 * (changelogs/1.39.0.yaml, runtime guard envoy.reloadable_features.match_headers_individually, on by
 * default): `x-role: user` + `x-role: admin` matches `exact_match: admin`, and no longer matches
 * `exact_match: "user,admin"`; one line `x-role: user,admin` is still one value. Real loopback servers.
 */
const TARGET = 'reviews.test:9080';
const { setup, get } = meshHarness();

describe('route header matching on a header sent more than once', () => {
  it('each entry is matched on its own; a single line with a comma stays one value', async () => {
    const { backends, source, dispatcher } = await setup(3);
    applyMesh(source, {
      target: TARGET,
      clusters: [
        { name: 'admin', ports: [backends[0]!.port] },
        { name: 'joined', ports: [backends[1]!.port] },
        { name: 'rest', ports: [backends[2]!.port] },
      ],
      routes: [
        { match: { prefix: '/', headers: [{ name: 'x-role', exact_match: 'admin' }] }, route: { cluster: 'admin' } },
        { match: { prefix: '/', headers: [{ name: 'x-role', exact_match: 'user,admin' }] }, route: { cluster: 'joined' } },
        { match: { prefix: '/' }, route: { cluster: 'rest' } },
      ],
    });
    // undici's flat form keeps the two entries apart.
    const twoEntries = await get(dispatcher, '/', undefined, { headers: ['x-role', 'user', 'x-role', 'admin'] as unknown as Record<string, string> });
    expect(twoEntries).toMatchObject({ status: 200, body: 'b0' });
    const oneLine = await get(dispatcher, '/', { 'x-role': 'user,admin' });
    expect(oneLine).toMatchObject({ status: 200, body: 'b1' });
    const neither = await get(dispatcher, '/', undefined, { headers: ['x-role', 'user', 'x-role', 'guest'] as unknown as Record<string, string> });
    expect(neither).toMatchObject({ status: 200, body: 'b2' });
    // Both values still reach the upstream.
    expect(String(backends[0]!.seen[0]!.headers['x-role']).split(/, ?/)).toEqual(['user', 'admin']);
  });
});
