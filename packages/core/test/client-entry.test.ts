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
});
