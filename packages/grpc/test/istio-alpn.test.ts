import * as grpc from '@grpc/grpc-js';
import { createSecureContext } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { CertificateProviderRegistry, DevCertificateAuthority, ISTIO_ALPN, Mesh, StaticCertificateProvider, spiffeIdOfCertificate } from '@meshlet/core';
import { StaticResourceSource } from '@meshlet/xds-client';
import { meshClientOptions, type MeshChannel } from '@meshlet/grpc';
import { EndpointCredentials, detectTlsConnector } from '../src/EndpointCredentials.js';
import { UpstreamTlsChannelCredentials, hasSecureConnectorHook } from '../src/UpstreamTlsChannelCredentials.js';
import { EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';
import { startBackend, type GrpcBackend } from './helpers/backends.js';
import { startIstioSidecar, type IstioSidecar } from './helpers/istioSidecar.js';
import { CLIENT_ID, SERVER_ID, TARGET, istioMutualSocket } from './helpers/istioMutualTls.js';
import { applyMesh, lbEndpoint } from '../../http/test/helpers/meshConfig.js';

/**
 * Istio ALPN on Meshlet's gRPC channels: real TLS on loopback through a sidecar-like listener
 * (TLS inspector + mTLS chain + plaintext app) with a mesh CA made at test time. The sidecar sees
 * the ClientHello's ALPN list; PERMISSIVE only does mTLS when an `istio*` value is offered.
 */
const CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Setup {
  readonly app: GrpcBackend;
  readonly sidecar: IstioSidecar;
  readonly provider: StaticCertificateProvider;
  readonly client: EchoClient;
  readonly channel: MeshChannel;
  readonly providers: CertificateProviderRegistry;
}

/**
 * A plaintext app behind a sidecar, and a Meshlet gRPC client whose cluster reaches it with
 * `cluster` (transport_socket or transport_socket_matches) and the endpoint's metadata.
 */
async function setup(opts: {
  mode: 'STRICT' | 'PERMISSIVE';
  cluster: Record<string, unknown>;
  endpointExtra?: Record<string, unknown>;
  clientCa: DevCertificateAuthority;
  serverCa?: DevCertificateAuthority;
  /** The roots the client trusts; default the client CA's. */
  clientTrust?: DevCertificateAuthority;
}): Promise<Setup> {
  const app = await startBackend('app');
  cleanups.push(() => app.close());
  const sidecar = await startIstioSidecar({ mode: opts.mode, ca: opts.serverCa ?? opts.clientCa, appPort: app.port });
  cleanups.push(() => sidecar.close());
  const source = new StaticResourceSource();
  applyMesh(source, { target: TARGET, clusters: [{ name: CLUSTER, ports: [], endpoints: [{ lb_endpoints: [lbEndpoint(sidecar.port, opts.endpointExtra ?? {})] }], cluster: opts.cluster }] });
  const material = DevCertificateAuthority.toMaterial(opts.clientCa.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' }));
  const trust = opts.clientTrust?.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' }).caBundle;
  const provider = new StaticCertificateProvider('default', trust === undefined ? material : { ...material, caBundle: trust });
  const providers = CertificateProviderRegistry.of({ default: provider });
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 5000 });
  const options = meshClientOptions(mesh, `xds:///${TARGET}`, { certificateProviders: providers });
  const client = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), options);
  cleanups.push(() => {
    client.close();
    mesh.close();
  });
  return { app, sidecar, provider, client, channel: options.channelOverride, providers };
}

const ISTIO_ENDPOINT = { metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } } };

describe('Istio ALPN on gRPC channels', () => {
  it('offers exactly istio-h2, istio, h2 to an Istio mTLS cluster; the call succeeds with SPIFFE identities checked both ways', async () => {
    const ca = DevCertificateAuthority.create();
    const { app, sidecar, client } = await setup({ mode: 'STRICT', cluster: { transport_socket: istioMutualSocket([SERVER_ID]) }, clientCa: ca });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    // One connection (the channel is reused), its ClientHello offering Istio's list, in order.
    expect(sidecar.offered).toEqual([['istio-h2', 'istio', 'h2']]);
    expect(sidecar.negotiated).toEqual(['h2']);
    // The sidecar verified our workload certificate; we verified its SAN (see the SAN mismatch case).
    expect(sidecar.peers).toEqual([CLIENT_ID]);
    expect(app.seen).toHaveLength(2);
  });

  it('offers the Istio list to endpoints selected by a tlsMode: istio match even when the context lists no istio ALPN', async () => {
    const ca = DevCertificateAuthority.create();
    const { sidecar, client } = await setup({
      mode: 'STRICT',
      cluster: { transport_socket_matches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutualSocket([SERVER_ID], false) }] },
      endpointExtra: ISTIO_ENDPOINT,
      clientCa: ca,
    });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    expect(sidecar.offered).toEqual([[...ISTIO_ALPN.h2]]);
    expect(sidecar.peers).toEqual([CLIENT_ID]);
  });

  it('offers the Istio list for istiod\'s grpc generator shape (no ALPN, roots from ROOTCA), so a PERMISSIVE sidecar does mTLS', async () => {
    const ca = DevCertificateAuthority.create();
    const { sidecar, client } = await setup({ mode: 'PERMISSIVE', cluster: { transport_socket: istioMutualSocket([SERVER_ID], false) }, clientCa: ca });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    expect(sidecar.offered).toEqual([[...ISTIO_ALPN.h2]]);
    expect(sidecar.chains).toEqual(['mtls']);
    expect(sidecar.peers).toEqual([CLIENT_ID]);
  });

  it('offers only h2 for a TLS context that is not Istio mTLS', async () => {
    const ca = DevCertificateAuthority.create();
    const { sidecar, client } = await setup({ mode: 'STRICT', cluster: { transport_socket: istioMutualSocket([SERVER_ID], false, 'corp-roots') }, clientCa: ca });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    expect(sidecar.offered).toEqual([['h2']]);
  });

  it('is accepted as mesh mTLS by a PERMISSIVE sidecar, where grpc-js\'s own TLS (h2 only) is passed through and fails', async () => {
    const ca = DevCertificateAuthority.create();
    const { app, sidecar, client, channel, providers } = await setup({ mode: 'PERMISSIVE', cluster: { transport_socket: istioMutualSocket([SERVER_ID]) }, clientCa: ca });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    expect(sidecar.chains).toEqual(['mtls']);
    expect(sidecar.peers).toEqual([CLIENT_ID]);
    expect(app.seen).toHaveLength(1);

    // The fallback (a grpc-js without the connector hook): same checks, grpc-js's connector, h2 only.
    (channel as { transports: EndpointCredentials }).transports = new EndpointCredentials(grpc.credentials.createInsecure(), providers, 'grpc-js');
    channel.endpoints.retainOnly(new Set());
    const r = await unary(client);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    expect(r.details).toMatch(/meshlet mTLS: TLS handshake with server failed: [\s\S]*does not speak TLS[\s\S]*no Istio ALPN value/);
    expect(sidecar.offered.at(-1)).toEqual(['h2']);
    expect(sidecar.chains.at(-1)).toBe('passthrough');
    expect(app.seen).toHaveLength(1);
  });

  it('fails closed through a PERMISSIVE sidecar with the same errors: SAN mismatch', async () => {
    const ca = DevCertificateAuthority.create();
    const { app, sidecar, client } = await setup({ mode: 'PERMISSIVE', cluster: { transport_socket: istioMutualSocket(['spiffe://cluster.local/ns/default/sa/ratings']) }, clientCa: ca });
    const r = await unary(client);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    expect(r.details).toMatch(/meshlet mTLS: .*SAN mismatch.*spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews.*want one of.*sa\/ratings/);
    expect(sidecar.chains[0]).toBe('mtls');
    expect(app.seen).toEqual([]);
  });

  it('fails closed through a PERMISSIVE sidecar with the same errors: server certificate from an untrusted CA', async () => {
    const { app, client } = await setup({
      mode: 'PERMISSIVE',
      cluster: { transport_socket: istioMutualSocket([SERVER_ID]) },
      clientCa: DevCertificateAuthority.create(),
      serverCa: DevCertificateAuthority.create(),
    });
    const r = await unary(client);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    expect(r.details).toMatch(/meshlet mTLS: server certificate not trusted/);
    expect(app.seen).toEqual([]);
  });

  it('fails closed through a PERMISSIVE sidecar with the same errors: the sidecar does not trust our certificate', async () => {
    const serverCa = DevCertificateAuthority.create();
    const { app, sidecar, client } = await setup({
      mode: 'PERMISSIVE',
      cluster: { transport_socket: istioMutualSocket([SERVER_ID]) },
      clientCa: DevCertificateAuthority.create(),
      serverCa,
      clientTrust: serverCa,
    });
    const r = await unary(client);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    // TLS 1.3: the refusal comes after our side of the handshake completed. A Node TLS server
    // (this sidecar) closes without an alert; Envoy/OpenSSL send one, which reads "the peer does
    // not trust our certificate's CA (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)". Either way, not "Failed to connect".
    expect(r.details).toMatch(/meshlet mTLS: the server closed the connection right after the TLS handshake \(it may have refused our certificate\)/);
    expect(sidecar.chains[0]).toBe('mtls');
    expect(sidecar.peers).toEqual([]);
    expect(app.seen).toEqual([]);
  });

  it('gives new connections rotated certificates, still with Istio ALPN', async () => {
    const ca = DevCertificateAuthority.create();
    const { sidecar, provider, client } = await setup({ mode: 'PERMISSIVE', cluster: { transport_socket: istioMutualSocket([SERVER_ID]) }, clientCa: ca });
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    provider.update(DevCertificateAuthority.toMaterial(ca.issueWorkload({ namespace: 'default', serviceAccount: 'productpage-v2' })));
    expect(await unary(client)).toMatchObject({ ok: true, body: 'app' });
    expect(sidecar.peers).toEqual([CLIENT_ID, 'spiffe://cluster.local/ns/default/sa/productpage-v2']);
    expect(sidecar.offered).toEqual([[...ISTIO_ALPN.h2], [...ISTIO_ALPN.h2]]);
  });

  it('carries call credentials: per call through the mesh, and composed onto the channel credentials', async () => {
    const ca = DevCertificateAuthority.create();
    const { app, sidecar, client } = await setup({ mode: 'PERMISSIVE', cluster: { transport_socket: istioMutualSocket([SERVER_ID]) }, clientCa: ca });
    const bearer = (token: string): grpc.CallCredentials =>
      grpc.credentials.createFromMetadataGenerator((_params, callback) => {
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${token}`);
        callback(null, md);
      });
    const perCall = await new Promise<string>((resolve, reject) => {
      client.Echo(Buffer.from('hi'), new grpc.Metadata(), { credentials: bearer('per-call') }, (err, res) => (err ? reject(err) : resolve(res!.toString())));
    });
    expect(perCall).toBe('app');
    expect(app.seen[0]!.metadata.get('authorization')).toEqual(['Bearer per-call']);

    // Composition as grpc-js does it (credentials.combineChannelCredentials / compose).
    const identity = ca.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' });
    const own = new UpstreamTlsChannelCredentials({
      secureContext: createSecureContext({ cert: identity.certChain, key: identity.privateKey, ca: identity.caBundle }),
      alpnProtocols: ISTIO_ALPN.h2,
      servername: undefined,
      checkServerIdentity: (_host, cert) => (String(spiffeIdOfCertificate(cert.raw)) === SERVER_ID ? undefined : new Error('unexpected server identity')),
    });
    const direct = new EchoClientConstructor(`127.0.0.1:${sidecar.port}`, grpc.credentials.combineChannelCredentials(own, bearer('composed')));
    cleanups.push(() => direct.close());
    expect(await unary(direct)).toMatchObject({ ok: true, body: 'app' });
    expect(app.seen[1]!.metadata.get('authorization')).toEqual(['Bearer composed']);
    expect(sidecar.chains).toEqual(['mtls', 'mtls']);
  });

  it('detects the grpc-js connector hook it relies on', () => {
    expect(hasSecureConnectorHook(grpc.credentials.createInsecure())).toBe(true);
    expect(hasSecureConnectorHook({ _getConnectionOptions: () => ({}) })).toBe(false);
    expect(new EndpointCredentials(grpc.credentials.createInsecure(), undefined).tlsConnector).toBe('meshlet');
  });

  it('falls back to grpc-js\'s own TLS without the hook, warning once per process', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MeshletWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    cleanups.push(() => void process.off('warning', onWarning));
    // A grpc-js before 1.10 builds TLS through _getConnectionOptions, which our credentials lack.
    const older = { _getConnectionOptions: () => ({}) };
    expect(detectTlsConnector(older)).toBe('grpc-js');
    expect(detectTlsConnector(older)).toBe('grpc-js');
    expect(detectTlsConnector()).toBe('meshlet');
    // 'warning' is emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/no ChannelCredentials\._createSecureConnector; gRPC mTLS connections offer only h2/);
  });
});
