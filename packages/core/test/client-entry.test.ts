import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from '@meshlet/core';
import * as client from '@meshlet/core/client';

// @meshlet/http and @meshlet/grpc's client import the core through '@meshlet/core/client', so a
// client process does not load the server side. The entry must stay a subset of the main one
// (same bindings, so one Mesh class whichever entry a caller used).
describe('@meshlet/core/client', () => {
  it('exports the client side as the very bindings @meshlet/core exports', () => {
    const names = Object.keys(client);
    expect(names.length).toBeGreaterThan(50);
    for (const name of names) expect((core as Record<string, unknown>)[name], name).toBe((client as Record<string, unknown>)[name]);
    for (const name of ['Mesh', 'RouteTable', 'ClusterRuntime', 'CallEngine', 'UpstreamTlsFactory', 'CertificateProviderRegistry', 'MeshTracing', 'decorateAttemptHeaders', 'routingDebugObserver']) {
      expect(names, name).toContain(name);
    }
  });

  it('leaves out what only a server or an operator uses', () => {
    for (const name of ['RbacEngine', 'FilterChainSelector', 'DownstreamTlsFactory', 'startGrpcServerSpan', 'startAdminServer', 'IstioMetrics', 'IstioCaClient', 'DevCertificateAuthority']) {
      expect(Object.keys(client), name).not.toContain(name);
      expect(Object.keys(core), name).toContain(name);
    }
  });

  it('is how @meshlet/http and the client side of @meshlet/grpc import the core', () => {
    // One main-entry import, even of a type written `import { type X }` (kept as a bare import
    // under verbatimModuleSyntax), would load the core's server side again in a client process.
    const offenders: string[] = [];
    let viaClient = 0;
    for (const pkg of ['http', 'grpc']) {
      const dir = new URL(`../../${pkg}/src/`, import.meta.url);
      for (const file of readdirSync(dir, { recursive: true }) as string[]) {
        if (!file.endsWith('.ts') || file.startsWith('server')) continue;
        for (const m of readFileSync(new URL(file, dir), 'utf8').matchAll(/from\s+'(@meshlet\/core[^']*)'/g)) {
          if (m[1] === '@meshlet/core/client') viaClient++;
          else offenders.push(`${pkg}/src/${file}: ${m[1]}`);
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(viaClient).toBeGreaterThan(15);
  });
});
