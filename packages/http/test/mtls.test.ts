import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { StaticResourceSource } from '@meshlet/xds-client';
import { CertificateProviderRegistry, DevCertificateAuthority, StaticCertificateProvider, spiffeIdOfCertificate } from '@meshlet/core';
import { createMeshDispatcher } from '@meshlet/http';
import { applyMesh } from './helpers/meshConfig.js';

const TARGET = 'reviews.default.svc.cluster.local:9080';
const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/productpage';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A sidecar-like HTTPS server: requires a client certificate from the CA, selects by Istio ALPN. */
async function startMtlsServer(ca: DevCertificateAuthority, alpn: string[]): Promise<{ port: number; peers: string[]; protocols: string[] }> {
  const cert = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });
  const peers: string[] = [];
  const protocols: string[] = [];
  const server: Server = createServer({ cert: cert.certChain, key: cert.privateKey, ca: cert.caBundle, requestCert: true, rejectUnauthorized: true, ALPNProtocols: alpn }, (req, res) => {
    const socket = req.socket as TLSSocket;
    peers.push(String(spiffeIdOfCertificate(socket.getPeerCertificate().raw)));
    protocols.push(String(socket.alpnProtocol));
    res.writeHead(200).end('secure');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { port: (server.address() as AddressInfo).port, peers, protocols };
}

function istioMutualCluster(sans: string[]): Record<string, unknown> {
  return {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
          combined_validation_context: {
            default_validation_context: { match_subject_alt_names: sans.map((exact) => ({ exact })) },
            validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
          },
          alpn_protocols: ['istio-peer-exchange', 'istio'],
        },
        sni: 'outbound_.9080_._.reviews.default.svc.cluster.local',
      },
    },
  };
}

async function setup(sans: string[], clientCa: DevCertificateAuthority, serverCa: DevCertificateAuthority, alpn = ['istio-http/1.1', 'istio', 'http/1.1']) {
  const server = await startMtlsServer(serverCa, alpn);
  const source = new StaticResourceSource();
  applyMesh(source, { target: TARGET, clusters: [{ name: 'outbound|9080||reviews.default.svc.cluster.local', ports: [server.port], cluster: istioMutualCluster(sans) }] });
  const identity = clientCa.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' });
  const providers = CertificateProviderRegistry.of({ default: new StaticCertificateProvider('default', DevCertificateAuthority.toMaterial(identity)) });
  const dispatcher = await createMeshDispatcher({ source, certificateProviders: providers });
  cleanups.push(() => dispatcher.destroy());
  return { server, dispatcher };
}

describe('mTLS to sidecar-style servers (UpstreamTlsContext from CDS)', () => {
  it('presents the workload SPIFFE identity, verifies the server SAN and offers Istio ALPN', async () => {
    const ca = DevCertificateAuthority.create();
    const { server, dispatcher } = await setup([SERVER_ID], ca, ca);
    const res = await request(`http://${TARGET}/`, { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('secure');
    expect(server.peers).toEqual([CLIENT_ID]);
    expect(server.protocols).toEqual(['istio-http/1.1']);
  });

  it('is accepted by a PERMISSIVE-style server that only speaks plain http/1.1 ALPN', async () => {
    const ca = DevCertificateAuthority.create();
    const { server, dispatcher } = await setup([SERVER_ID], ca, ca, ['http/1.1']);
    const res = await request(`http://${TARGET}/`, { dispatcher });
    expect(await res.body.text()).toBe('secure');
    expect(server.protocols).toEqual(['http/1.1']);
  });

  it('fails closed with the failed check named: SAN mismatch', async () => {
    const ca = DevCertificateAuthority.create();
    const { server, dispatcher } = await setup(['spiffe://cluster.local/ns/default/sa/ratings'], ca, ca);
    const res = await request(`http://${TARGET}/`, { dispatcher });
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toMatch(/SAN mismatch.*spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews/);
    expect(server.peers).toEqual([]);
  });

  it('fails closed with the failed check named: untrusted server CA', async () => {
    const { dispatcher } = await setup([SERVER_ID], DevCertificateAuthority.create(), DevCertificateAuthority.create());
    const res = await request(`http://${TARGET}/`, { dispatcher });
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toMatch(/not trusted/);
  });

  it('fails closed when no certificate providers are configured, never falling back to plaintext', async () => {
    const ca = DevCertificateAuthority.create();
    const server = await startMtlsServer(ca, ['http/1.1']);
    const source = new StaticResourceSource();
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [server.port], cluster: istioMutualCluster([SERVER_ID]) }] });
    const dispatcher = await createMeshDispatcher({ source });
    cleanups.push(() => dispatcher.destroy());
    const res = await request(`http://${TARGET}/`, { dispatcher });
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toMatch(/no certificate providers/);
    expect(server.peers).toEqual([]);
  });

  it('a pushed change of the TLS context (SANs) applies to the next connection of the same endpoint', async () => {
    const ca = DevCertificateAuthority.create();
    const server = await startMtlsServer(ca, ['istio-http/1.1', 'istio', 'http/1.1']);
    const source = new StaticResourceSource();
    // One request per connection (max_requests_per_connection 1), so each request opens a new one.
    const push = (sans: string[]) =>
      applyMesh(source, {
        target: TARGET,
        clusters: [{ name: 'c', ports: [server.port], cluster: { ...istioMutualCluster(sans), ...oneRequestPerConnection } }],
      });
    push([SERVER_ID]);
    const identity = ca.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' });
    const providers = CertificateProviderRegistry.of({ default: new StaticCertificateProvider('default', DevCertificateAuthority.toMaterial(identity)) });
    const dispatcher = await createMeshDispatcher({ source, certificateProviders: providers });
    cleanups.push(() => dispatcher.destroy());
    const get = async () => {
      const res = await request(`http://${TARGET}/`, { dispatcher });
      return { status: res.statusCode, body: await res.body.text() };
    };
    expect(await get()).toEqual({ status: 200, body: 'secure' });
    // The server's identity is no longer the one the cluster names: the next connection fails closed.
    push(['spiffe://cluster.local/ns/default/sa/ratings']);
    const refused = await get();
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/SAN mismatch/);
    push([SERVER_ID]);
    expect(await get()).toEqual({ status: 200, body: 'secure' });
    expect(server.peers).toEqual([CLIENT_ID, CLIENT_ID]);
  });
});

const HPO = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const oneRequestPerConnection = {
  typed_extension_protocol_options: { [HPO]: { '@type': `type.googleapis.com/${HPO}`, explicit_http_config: { http_protocol_options: {} }, common_http_protocol_options: { max_requests_per_connection: 1 } } },
};
