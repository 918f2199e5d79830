import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Footprint: @meshlet/http reaches the core only through '@meshlet/core/client', so a client
 * process does not load the core's server side (RBAC, filter chains, admin server, metrics, CA
 * tooling: about 40 modules). One file importing the main entry, even for a type written as
 * `import { type X }` (kept as a bare import under verbatimModuleSyntax), would load it all again.
 */
describe('@meshlet/http imports the client side of the core', () => {
  it('names @meshlet/core/client, never the main entry, in every source file', () => {
    const dir = new URL('../src/', import.meta.url);
    const offenders: string[] = [];
    let viaClient = 0;
    for (const file of readdirSync(dir, { recursive: true }) as string[]) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(new URL(file, dir), 'utf8');
      for (const m of text.matchAll(/from\s+'(@meshlet\/core[^']*)'/g)) {
        if (m[1] === '@meshlet/core/client') viaClient++;
        else offenders.push(`${file}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
    expect(viaClient).toBeGreaterThan(5);
  });
});
