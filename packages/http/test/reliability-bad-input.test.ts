import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { request } from 'undici';
import { applyMesh } from './helpers/meshConfig.js';
import { meshHarness } from './helpers/harness.js';
import { figures } from './helpers/reliabilityMesh.js';

/**
 * Bad input from the application, through the real dispatcher to a real server: header values
 * with CR / LF / NUL (header injection, request smuggling) and odd paths. Each request either
 * completes normally — and then the server saw exactly what was sent, nothing injected — or is
 * refused before anything is written, with an error that names the problem. Never a crash, never
 * a hang, and the dispatcher keeps serving afterwards.
 */
const TARGET = 'reviews.test:9080';
const { setup } = meshHarness();

async function mesh() {
  const h = await setup(1);
  const b = h.backends[0]!;
  b.behave((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(JSON.stringify({ url: req.url, probe: req.headers['x-probe'] ?? null, injected: req.headers['x-injected'] ?? null })));
  applyMesh(h.source, {
    target: TARGET,
    clusters: [{ name: 'c', ports: [b.port] }],
    routes: [
      { match: { prefix: '/' }, route: { cluster: 'c', prefix_rewrite: '/' }, request_headers_to_add: [{ header: { key: 'x-route', value: 'r' } }] },
    ],
  });
  return { ...h, b };
}

const CTL = /[\r\n\0]/;

describe('bad header values and paths from the application', () => {
  it('header values with CR, LF or NUL are refused with a clear error; others arrive unchanged', async () => {
    const { dispatcher, b } = await mesh();
    const tally = { sent: 0, ok: 0, refused: 0, messages: {} as Record<string, number> };
    const value = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', ' ', '\t', '\r', '\n', '\0', ':', 'x-injected: yes', '\r\nx-injected: yes', 'é', '\u0001', '\u007f'), maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        tally.sent++;
        const before = b.seen.length;
        try {
          const res = await request(`http://${TARGET}/h`, { dispatcher, headers: { 'x-probe': v }, headersTimeout: 2000, bodyTimeout: 2000 });
          const body = JSON.parse(await res.body.text()) as { probe: string | null; injected: string | null };
          expect(res.statusCode).toBe(200);
          expect(CTL.test(v)).toBe(false); // anything with CR/LF/NUL must have been refused
          expect(body.injected).toBeNull();
          // HTTP trims optional whitespace around a field value; the rest arrives byte for byte (latin1 on the wire).
          expect(body.probe).toBe(Buffer.from(v.replace(/^[ \t]+|[ \t]+$/g, ''), 'latin1').toString('latin1'));
          tally.ok++;
        } catch (e) {
          if (!(e instanceof Error) || e.name === 'AssertionError') throw e;
          // Refused before anything reached the upstream.
          expect(b.seen.length).toBe(before);
          expect(e.message).toMatch(/invalid .*header|header.*invalid/i);
          tally.refused++;
          tally.messages[e.message] = (tally.messages[e.message] ?? 0) + 1;
        }
      }),
      { numRuns: 200 },
    );
    // Every CR/LF/NUL value was among the refused; the dispatcher still serves.
    const res = await request(`http://${TARGET}/after`, { dispatcher });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(b.seen.every((s) => s.headers['x-injected'] === undefined)).toBe(true);
    figures('bad input: header values through the dispatcher', tally);
  });

  it('odd paths are refused with a clear error or routed and rewritten into a valid path', async () => {
    const { dispatcher, b } = await mesh();
    const tally = { sent: 0, ok: 0, refused: 0, messages: {} as Record<string, number> };
    const path = fc
      .string({ unit: fc.constantFrom('a', '/', '.', '..', '%', '%2F', '%00', '?', '#', ' ', '\r', '\n', '\0', 'é', '//', '\\', '*', '\u0001'), maxLength: 12 })
      .map((s) => `/${s}`);
    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        tally.sent++;
        const before = b.seen.length;
        try {
          const res = await request(`http://${TARGET}${p}`, { dispatcher, headersTimeout: 2000, bodyTimeout: 2000 });
          const text = await res.body.text();
          expect([200, 400, 404]).toContain(res.statusCode);
          if (res.statusCode === 200) {
            const url = (JSON.parse(text) as { url: string }).url;
            expect(url.startsWith('/')).toBe(true);
            expect(/[\r\n\0 ]/.test(url)).toBe(false);
          }
          tally.ok++;
        } catch (e) {
          if (!(e instanceof Error) || e.name === 'AssertionError') throw e;
          expect(b.seen.length).toBe(before);
          expect(e.message).toMatch(/invalid|path|URL/i);
          tally.refused++;
          const k = e.message.slice(0, 80);
          tally.messages[k] = (tally.messages[k] ?? 0) + 1;
        }
      }),
      { numRuns: 200 },
    );
    const res = await request(`http://${TARGET}/after`, { dispatcher });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    figures('bad input: paths through the dispatcher', tally);
  });

  it('a path over 60 KiB is refused before routing with an error naming the limit; one at the limit goes upstream', async () => {
    const { dispatcher, b } = await mesh();
    const before = b.seen.length;
    const long = `/${'a'.repeat(60 * 1024)}`;
    await expect(request(`http://${TARGET}${long}`, { dispatcher, headersTimeout: 5000, bodyTimeout: 5000 })).rejects.toThrow(/invalid path: 61441 characters, over the mesh's limit of 61440/);
    expect(b.seen.length).toBe(before);
    // At the limit the mesh routes it; this upstream (Node, 16 KiB header limit) answers 431 itself.
    const atLimit = await request(`http://${TARGET}${long.slice(0, 60 * 1024)}`, { dispatcher, headersTimeout: 5000, bodyTimeout: 5000 });
    expect(atLimit.statusCode).toBe(431);
    await atLimit.body.text();
    const ok = await request(`http://${TARGET}${long.slice(0, 8 * 1024)}`, { dispatcher, headersTimeout: 5000, bodyTimeout: 5000 });
    expect(ok.statusCode).toBe(200);
    expect((JSON.parse(await ok.body.text()) as { url: string }).url).toHaveLength(8 * 1024);
  });
});
