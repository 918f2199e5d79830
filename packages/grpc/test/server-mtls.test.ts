import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateProviderRegistry, DevCertificateAuthority, StaticCertificateProvider, type IssuedCertificate } from '@meshlet/core';
import { ListenerResource, RouteConfigurationResource, StaticResourceSource, encodeAny, silentLogger } from '@meshlet/xds-client';
import { MeshServer, MeshServerCredentials, peerSpiffeId } from '../src/server/index.js';
import { GREETER, GreeterClientConstructor, bindAsync, call, greeterImplementation, rbacFilter, routeConfig, serverListener, until, type GreeterClient } from './serverFixtures.js';

/** A DownstreamTlsContext shaped like istiod's grpc generator output (certificate provider instance `default`). */
function downstreamTls(requireClientCertificate: boolean): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: encodeAny('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        combined_validation_context: { default_validation_context: { ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' } } },
      },
      require_client_certificate: { value: requireClientCertificate },
    }),
  };
}

const FRONTEND = 'spiffe://cluster.local/ns/default/sa/frontend';

/** mTLS on a MeshServer from the Listener's DownstreamTlsContext (gRFC A29 / A36), RBAC principals (A41). */
describe('MeshServer mTLS', () => {
  const source = new StaticResourceSource();
  const ca = DevCertificateAuthority.create();
  const serverCert = ca.issueWorkload({ namespace: 'default', serviceAccount: 'greeter' });
  const frontend = ca.issueWorkload({ namespace: 'default', serviceAccount: 'frontend' });
  const intruder = ca.issueWorkload({ namespace: 'other', serviceAccount: 'intruder' });
  const otherCa = DevCertificateAuthority.create();
  const untrusted = otherCa.issueWorkload({ namespace: 'default', serviceAccount: 'frontend' });
  let server: MeshServer;
  let port: number;
  const clients: GreeterClient[] = [];

  function client(cert?: IssuedCertificate): GreeterClient {
    const creds =
      cert === undefined
        ? grpc.credentials.createSsl(Buffer.from(ca.certificatePem), null, null, { checkServerIdentity: () => undefined })
        : grpc.credentials.createSsl(Buffer.from(ca.certificatePem), Buffer.from(cert.privateKey), Buffer.from(cert.certChain), { checkServerIdentity: () => undefined });
    const c = new GreeterClientConstructor(`127.0.0.1:${port}`, creds, { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(c);
    return c;
  }

  async function configure(requireClientCertificate: boolean): Promise<void> {
    const onlyFrontend = rbacFilter('ALLOW', { frontend: { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { exact: FRONTEND } } }] } });
    source.replaceFromObjects(RouteConfigurationResource, [routeConfig('rds')]);
    source.replaceFromObjects(ListenerResource, [serverListener('127.0.0.1', port, [{ rds: 'rds', httpFilters: [onlyFrontend], transportSocket: downstreamTls(requireClientCertificate) }])]);
    await until(() => server.isServing(port));
  }

  beforeAll(async () => {
    const providers = CertificateProviderRegistry.of({ default: new StaticCertificateProvider('default', DevCertificateAuthority.toMaterial(serverCert)) });
    server = new MeshServer({ source, listenerResourceNameTemplate: 'xds.istio.io/grpc/lds/inbound/%s', certificateProviders: providers, logger: silentLogger, drainGraceTimeMs: 500 });
    server.addService(GREETER, greeterImplementation('s', (c) => peerSpiffeId(c) ?? 'none'));
    port = await bindAsync(server, '127.0.0.1:0', new MeshServerCredentials(grpc.ServerCredentials.createInsecure()));
    await configure(true);
  });

  afterAll(() => {
    for (const c of clients) c.close();
    server.forceShutdown();
  });

  it('exposes the verified client SPIFFE id to handlers and matches RBAC principals on it', async () => {
    expect(await call(client(frontend), 'WhoAmI')).toEqual({ code: grpc.status.OK, body: FRONTEND, details: '' });
    expect(await call(client(intruder), 'Hello')).toEqual({ code: grpc.status.PERMISSION_DENIED, details: 'RBAC: access denied' });
  });

  it('fails closed: no client certificate, an untrusted one, or plaintext never reach a handler', async () => {
    expect((await call(client(), 'Hello')).code).toBe(grpc.status.UNAVAILABLE);
    expect((await call(client(untrusted), 'Hello')).code).toBe(grpc.status.UNAVAILABLE);
    const plain = new GreeterClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(plain);
    expect((await call(plain, 'Hello')).code).toBe(grpc.status.UNAVAILABLE);
  });

  it('without require_client_certificate, a certificate-less client is TLS-anonymous: authenticated principals do not match it', async () => {
    await configure(false);
    await new Promise((r) => setTimeout(r, 10));
    expect(await call(client(), 'Hello')).toEqual({ code: grpc.status.PERMISSION_DENIED, details: 'RBAC: access denied' });
    expect((await call(client(frontend), 'WhoAmI')).body).toBe(FRONTEND);
  });

  it('with non-xDS credentials the Listener TLS is ignored (A36) and the given credentials are used', async () => {
    const s2 = new MeshServer({ source, listenerResourceNameTemplate: 'xds.istio.io/grpc/lds/inbound/%s', logger: silentLogger });
    s2.addService(GREETER, greeterImplementation('plain'));
    const p2 = await bindAsync(s2, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
    try {
      source.replaceFromObjects(ListenerResource, [
        serverListener('127.0.0.1', port, [{ rds: 'rds', transportSocket: downstreamTls(true) }]),
        serverListener('127.0.0.1', p2, [{ rds: 'rds', transportSocket: downstreamTls(true) }]),
      ]);
      await until(() => s2.isServing(p2));
      const plain = new GreeterClientConstructor(`127.0.0.1:${p2}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      clients.push(plain);
      expect(await call(plain, 'Hello')).toEqual({ code: grpc.status.OK, body: 'plain:Hello', details: '' });
    } finally {
      s2.forceShutdown();
    }
  });
});
