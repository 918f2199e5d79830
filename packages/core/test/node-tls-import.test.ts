import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Node's ESM wrapper of node:tls reads every export once, and the rootCertificates getter then
// builds and keeps Node's bundled root certificates (0.4 MB surviving young-generation GCs while a
// mesh loads: bench/HISTORY.md, footprint sixth pass). The client packages load node:tls with
// process.getBuiltinModule; a value import would bring the cost back for every process (grpc-js
// itself requires node:tls as CommonJS, which does not read the getter).
describe('node:tls in the client packages', () => {
  it('is never imported as an ES module for its values (type-only imports are erased)', () => {
    const offenders: string[] = [];
    let typeOnly = 0;
    for (const pkg of ['xds-client', 'core', 'http', 'grpc']) {
      const dir = new URL(`../../${pkg}/src/`, import.meta.url);
      for (const file of readdirSync(dir, { recursive: true }) as string[]) {
        if (!file.endsWith('.ts')) continue;
        for (const m of readFileSync(new URL(file, dir), 'utf8').matchAll(/^import\s+(type\s+)?[^;]*?from\s+'(?:node:)?tls';/gms)) {
          if (m[1]) typeOnly++;
          else offenders.push(`${pkg}/src/${file}`);
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(typeOnly).toBeGreaterThan(0); // the scan does see the imports there are
  });
});
