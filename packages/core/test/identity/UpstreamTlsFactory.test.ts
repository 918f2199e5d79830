import { X509Certificate } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateProviderRegistry,
  DevCertificateAuthority,
  DownstreamTlsFactory,
  MeshletTlsError,
  StaticCertificateProvider,
  UpstreamTlsFactory,
  connectTls,
  explainTlsError,
  type IssuedCertificate,
} from '../../src/identity/index.js';
import {
  ISTIO_ENDPOINT_METADATA,
  grpcGeneratorTlsSocket,
  istioCluster,
  istioSidecarTlsSocket,
  readLine,
  startTlsServer,
} from './fixtures.js';

const REVIEWS = 'spiffe://cluster.local/ns/default/sa/reviews';
const WANT_REVIEWS = [{ exact: REVIEWS }];

let ca: DevCertificateAuthority;
let client: IssuedCertificate; // productpage
let reviews: IssuedCertificate;
const closers: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  ca = DevCertificateAuthority.create();
  client = ca.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' });
  reviews = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function clientFactory(material: IssuedCertificate | { caBundle: string } = client): UpstreamTlsFactory {
  const provider = new StaticCertificateProvider('default', 'certChain' in material ? DevCertificateAuthority.toMaterial(material) : material);
  const registry = CertificateProviderRegistry.of({ default: provider });
  closers.push(() => registry.close());
  return new UpstreamTlsFactory(registry);
}

/** A server presenting `serverCert`, requiring a client certificate from `ca`. */
async function mtlsServer(serverCert: IssuedCertificate, extra: { ALPNProtocols?: string[]; requestCert?: boolean } = {}) {
  const srv = await startTlsServer({
    cert: serverCert.certChain,
    key: serverCert.privateKey,
    ca: ca.certificatePem,
    requestCert: extra.requestCert ?? true,
    rejectUnauthorized: extra.requestCert ?? true,
    ...(extra.ALPNProtocols ? { ALPNProtocols: extra.ALPNProtocols } : {}),
  });
  closers.push(() => srv.close());
  return srv;
}

async function expectRefused(promise: Promise<unknown>, check: string, message: RegExp | string): Promise<MeshletTlsError> {
  const err = await promise.then(
    () => {
      throw new Error('connection unexpectedly succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MeshletTlsError);
  expect((err as MeshletTlsError).check).toBe(check);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
  return err as MeshletTlsError;
}

describe('UpstreamTlsFactory against real TLS servers', () => {
  it('connects with mTLS when the server SPIFFE id matches, presenting our SPIFFE identity', async () => {
    const srv = await mtlsServer(reviews);
    const options = clientFactory().connectionOptions(istioCluster(istioSidecarTlsSocket(WANT_REVIEWS)), ISTIO_ENDPOINT_METADATA, 'http/1.1')!;
    expect(options.servername).toBe('outbound_.9080_._.reviews.default.svc.cluster.local');
    const socket = await connectTls({ ...options, host: '127.0.0.1', port: srv.port });
    closers.push(() => void socket.destroy());
    expect(socket.authorized).toBe(true);
    await readLine(socket);
    const seen = srv.accepted[0]!.getPeerCertificate();
    expect(new X509Certificate(seen.raw).subjectAltName).toContain('spiffe://cluster.local/ns/default/sa/productpage');
  });

  it('works with the grpc generator shape (certificate provider instance default / ROOTCA)', async () => {
    const srv = await mtlsServer(reviews);
    const factory = clientFactory();
    const options = factory.connectionOptions(istioCluster(grpcGeneratorTlsSocket([{ prefix: 'spiffe://cluster.local/ns/default/' }])), ISTIO_ENDPOINT_METADATA, 'h2')!;
    const socket = await connectTls({ ...options, host: '127.0.0.1', port: srv.port });
    closers.push(() => void socket.destroy());
    expect(socket.authorized).toBe(true);
  });

  it('refuses a server whose SAN does not match, saying what it got and wanted', async () => {
    const wrong = ca.issueWorkload({ namespace: 'x', serviceAccount: 'y' });
    const srv = await mtlsServer(wrong);
    const options = clientFactory().connectionOptions(istioCluster(istioSidecarTlsSocket(WANT_REVIEWS)), ISTIO_ENDPOINT_METADATA, 'http/1.1')!;
    await expectRefused(
      connectTls({ ...options, host: '127.0.0.1', port: srv.port }),
      'san',
      'meshlet mTLS: server certificate SAN mismatch: got spiffe://cluster.local/ns/x/sa/y, want one of [exact spiffe://cluster.local/ns/default/sa/reviews]',
    );
  });

  it('refuses a server certificate from an untrusted CA, even with the right SPIFFE id', async () => {
    const rogue = DevCertificateAuthority.create().issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });
    const srv = await mtlsServer(rogue);
    const options = clientFactory().connectionOptions(istioCluster(istioSidecarTlsSocket(WANT_REVIEWS)), ISTIO_ENDPOINT_METADATA, 'http/1.1')!;
    await expectRefused(connectTls({ ...options, host: '127.0.0.1', port: srv.port }), 'trust', /^meshlet mTLS: server certificate not trusted: it does not chain to the configured CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it('refuses an expired server certificate', async () => {
    const expired = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews', notBefore: new Date(Date.now() - 2 * 3600_000), validityMs: 3600_000 });
    const srv = await mtlsServer(expired);
    const options = clientFactory().connectionOptions(istioCluster(istioSidecarTlsSocket(WANT_REVIEWS)), ISTIO_ENDPOINT_METADATA, 'http/1.1')!;
    await expectRefused(connectTls({ ...options, host: '127.0.0.1', port: srv.port }), 'expired', 'meshlet mTLS: server certificate has expired (CERT_HAS_EXPIRED)');
  });

  it('fails closed before connecting when our identity is missing', () => {
    const factory = clientFactory({ caBundle: ca.certificatePem });
    const cluster = istioCluster(istioSidecarTlsSocket(WANT_REVIEWS));
    let err: unknown;
    try {
      factory.connectionOptions(cluster, ISTIO_ENDPOINT_METADATA, 'http/1.1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MeshletTlsError);
    expect((err as MeshletTlsError).check).toBe('identity');
    expect((err as Error).message).toBe('meshlet mTLS: no identity certificate: certificate provider "default" has no certificate and key');
  });

  it('a server requiring client certificates rejects a client without one (both ends say why)', async () => {
    const srv = await mtlsServer(reviews);
    // One-way TLS context: a CA to check the server, but no identity of our own.
    const socketCfg = istioSidecarTlsSocket(WANT_REVIEWS);
    const oneWay = {
      ...socketCfg,
      upstream_tls: { ...socketCfg.upstream_tls!, common_tls_context: { ...socketCfg.upstream_tls!.common_tls_context, tls_certificate_sds_secret_configs: [] } },
    };
    const options = clientFactory().connectionOptions(istioCluster(oneWay), ISTIO_ENDPOINT_METADATA, 'http/1.1')!;
    expect(options.cert).toBeUndefined();
    // TLS 1.3: the client's handshake completes first; the server's refusal arrives as an alert.
    const result = await connectTls({ ...options, host: '127.0.0.1', port: srv.port }).then(
      (socket) => new Promise<unknown>((resolve) => socket.once('error', resolve)),
      (e: unknown) => e,
    );
    const explained = explainTlsError(result, 'server');
    expect(explained.check).toBe('rejected-by-peer');
    expect(explained.message).toMatch(/the server requires a client certificate|handshake failure/);
    await new Promise((r) => setTimeout(r, 20));
    expect(srv.clientErrors.map((e) => explainTlsError(e, 'client').message)).toEqual(['meshlet mTLS: client presented no certificate (ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE)']);
  });

  it('offers istio ALPN values so STRICT (istio-only) and plain http/1.1 servers both negotiate', async () => {
    const factory = clientFactory();
    const cluster = istioCluster(istioSidecarTlsSocket(WANT_REVIEWS));
    const istioOnly = await mtlsServer(reviews, { ALPNProtocols: ['istio-http/1.1'] });
    const plainOnly = await mtlsServer(reviews, { ALPNProtocols: ['http/1.1'] });
    const h2Sidecar = await mtlsServer(reviews, { ALPNProtocols: ['istio-h2', 'h2'] });
    const h1 = factory.connectionOptions(cluster, ISTIO_ENDPOINT_METADATA, 'http/1.1')!;
    expect(h1.ALPNProtocols).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
    const a = await connectTls({ ...h1, host: '127.0.0.1', port: istioOnly.port });
    const b = await connectTls({ ...h1, host: '127.0.0.1', port: plainOnly.port });
    const h2 = factory.connectionOptions(cluster, ISTIO_ENDPOINT_METADATA, 'h2')!;
    expect(h2.ALPNProtocols).toEqual(['istio-h2', 'istio', 'h2']);
    const c = await connectTls({ ...h2, host: '127.0.0.1', port: h2Sidecar.port });
    closers.push(() => [a, b, c].forEach((s) => s.destroy()));
    expect([a.alpnProtocol, b.alpnProtocol, c.alpnProtocol]).toEqual(['istio-http/1.1', 'http/1.1', 'istio-h2']);
    expect(await readLine(a)).toBe('alpn=istio-http/1.1');
  });

  it('uses rotated provider material for new connections only', async () => {
    const provider = new StaticCertificateProvider('default', DevCertificateAuthority.toMaterial(client));
    const registry = CertificateProviderRegistry.of({ default: provider });
    closers.push(() => registry.close());
    const factory = new UpstreamTlsFactory(registry);
    const cluster = istioCluster(istioSidecarTlsSocket(WANT_REVIEWS));
    const srv = await mtlsServer(reviews);
    const first = await connectTls({ ...factory.connectionOptions(cluster, ISTIO_ENDPOINT_METADATA, 'http/1.1')!, host: '127.0.0.1', port: srv.port });
    const rotated = ca.issueWorkload({ namespace: 'default', serviceAccount: 'productpage' });
    provider.update(DevCertificateAuthority.toMaterial(rotated));
    const second = await connectTls({ ...factory.connectionOptions(cluster, ISTIO_ENDPOINT_METADATA, 'http/1.1')!, host: '127.0.0.1', port: srv.port });
    closers.push(() => [first, second].forEach((s) => s.destroy()));
    // The established connection still carries the certificate it was opened with.
    expect(first.getCertificate()).toMatchObject({ serialNumber: new X509Certificate(client.certChain).serialNumber });
    await Promise.all([readLine(first), readLine(second)]); // both accepted by the server
    expect(srv.peerSerials).toEqual([new X509Certificate(client.certChain).serialNumber, new X509Certificate(rotated.certChain).serialNumber]);
  });
});

describe('transport socket selection', () => {
  const registry = () => CertificateProviderRegistry.of({ default: new StaticCertificateProvider('default', DevCertificateAuthority.toMaterial(client)) });

  it('uses TLS for tlsMode=istio endpoints and plaintext (raw_buffer match) for the rest', () => {
    const factory = new UpstreamTlsFactory(registry());
    const cluster = istioCluster(istioSidecarTlsSocket(WANT_REVIEWS));
    expect(factory.forEndpoint(cluster, ISTIO_ENDPOINT_METADATA).kind).toBe('tls');
    expect(factory.forEndpoint(cluster, undefined)).toEqual({ kind: 'plaintext', socketName: 'envoy.transport_sockets.raw_buffer' });
    expect(factory.forEndpoint(cluster, { 'envoy.transport_socket_match': { tlsMode: 'disabled' } }).kind).toBe('plaintext');
    // Compiled once per transport socket object.
    expect(factory.forEndpoint(cluster, ISTIO_ENDPOINT_METADATA)).toBe(factory.forEndpoint(cluster, ISTIO_ENDPOINT_METADATA));
  });

  it('falls back to the cluster transport_socket when no match applies, never to plaintext', () => {
    const factory = new UpstreamTlsFactory(registry());
    const tls = grpcGeneratorTlsSocket(WANT_REVIEWS);
    const cluster = { name: 'c', transport_socket: tls, transport_socket_matches: [{ name: 'm', match: { tlsMode: 'istio' }, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', raw_buffer: true as const } }] };
    const t = factory.forEndpoint(cluster, {});
    expect(t.kind).toBe('tls');
    // istiod's grpc generator shape (no ALPN, roots from ROOTCA) is Istio mTLS: the Istio list.
    expect(factory.connectionOptions(cluster, {}, 'h2')!.ALPNProtocols).toEqual(['istio-h2', 'istio', 'h2']);
    expect(factory.connectionOptions(cluster, {}, 'http/1.1')!.ALPNProtocols).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
    // Not Istio's roots, or ALPN values of its own: only the connection's protocol, or those values.
    const custom = grpcGeneratorTlsSocket(WANT_REVIEWS);
    const otherRoots = { ...custom, upstream_tls: { common_tls_context: { ...custom.upstream_tls!.common_tls_context, validation_context: { ...custom.upstream_tls!.common_tls_context.validation_context!, ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'corp-roots' } } } } };
    expect(factory.connectionOptions({ name: 'o', transport_socket: otherRoots, transport_socket_matches: [] }, {}, 'h2')!.ALPNProtocols).toEqual(['h2']);
    const ownAlpn = grpcGeneratorTlsSocket(WANT_REVIEWS, ['h2']);
    expect(factory.connectionOptions({ name: 'a', transport_socket: ownAlpn, transport_socket_matches: [] }, {}, 'h2')!.ALPNProtocols).toEqual(['h2']);
    expect(new UpstreamTlsFactory(registry(), { istioAlpn: 'never' }).connectionOptions(cluster, {}, 'h2')!.ALPNProtocols).toEqual(['h2']);
    expect(factory.forEndpoint({ name: 'none', transport_socket_matches: [] }, undefined).kind).toBe('plaintext');
  });

  it('refuses transport sockets it cannot honour instead of downgrading', () => {
    const factory = new UpstreamTlsFactory(registry());
    const cluster = { name: 'alts', transport_socket: { name: 'envoy.transport_sockets.alts' }, transport_socket_matches: [] };
    expect(() => factory.forEndpoint(cluster, undefined)).toThrow(/transport socket "envoy.transport_sockets.alts" is not supported.*refusing to fall back to plaintext/);
    const unknownSds = istioSidecarTlsSocket(WANT_REVIEWS);
    const bad = { ...unknownSds, upstream_tls: { ...unknownSds.upstream_tls!, common_tls_context: { ...unknownSds.upstream_tls!.common_tls_context, tls_certificate_sds_secret_configs: [{ name: 'file-cert:/x.pem~/y.pem' }] } } };
    expect(() => factory.forEndpoint(istioCluster(bad), ISTIO_ENDPOINT_METADATA)).toThrow(/SDS secret "file-cert:\/x.pem~\/y.pem" is not supported/);
  });

  it('names the missing provider instance', () => {
    const factory = new UpstreamTlsFactory(CertificateProviderRegistry.of({}));
    expect(() => factory.forEndpoint(istioCluster(grpcGeneratorTlsSocket(WANT_REVIEWS)), ISTIO_ENDPOINT_METADATA)).toThrow(/no certificate provider instance "default" in the bootstrap \(have: none\)/);
  });
});

describe('DownstreamTlsFactory', () => {
  it('requires and verifies client certificates, exposing the client SPIFFE id; SAN policy rejects others', async () => {
    const registry = CertificateProviderRegistry.of({ default: new StaticCertificateProvider('default', DevCertificateAuthority.toMaterial(reviews)) });
    closers.push(() => registry.close());
    const downstream = new DownstreamTlsFactory(
      {
        require_client_certificate: true,
        common_tls_context: {
          alpn_protocols: [],
          tls_certificate_provider_instance: { instance_name: 'default' },
          tls_certificate_sds_secret_configs: [],
          tls_certificates: [],
          validation_context: {
            ca_certificate_provider_instance: { instance_name: 'default' },
            match_subject_alt_names: [],
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/productpage' } }],
          },
        },
      },
      registry,
    );
    const srv = await startTlsServer(downstream.serverOptions());
    closers.push(() => srv.close());
    const rejected: string[] = [];
    const attached = downstream.attach(srv.server, (e) => rejected.push(e.message));
    closers.push(() => attached.dispose());

    const ok = await connectTls({ ...clientFactory().connectionOptions(istioCluster(istioSidecarTlsSocket(WANT_REVIEWS)), ISTIO_ENDPOINT_METADATA, 'http/1.1')!, host: '127.0.0.1', port: srv.port });
    closers.push(() => void ok.destroy());
    expect(await readLine(ok)).toMatch(/^alpn=/);
    expect(downstream.verifyPeer(srv.accepted[0]!)?.spiffeId?.toString()).toBe('spiffe://cluster.local/ns/default/sa/productpage');

    const ratings = ca.issueWorkload({ namespace: 'default', serviceAccount: 'ratings' });
    const other = await connectTls({ ...clientFactory(ratings).connectionOptions(istioCluster(istioSidecarTlsSocket(WANT_REVIEWS)), ISTIO_ENDPOINT_METADATA, 'http/1.1')!, host: '127.0.0.1', port: srv.port });
    closers.push(() => void other.destroy());
    let received = '';
    other.on('data', (chunk: Buffer) => (received += chunk.toString()));
    other.on('error', () => undefined);
    await new Promise<void>((resolve) => other.once('close', () => resolve()));
    expect(rejected).toEqual([
      'meshlet mTLS: client certificate SAN mismatch: got spiffe://cluster.local/ns/default/sa/ratings, want one of [URI exact spiffe://cluster.local/ns/default/sa/productpage]',
    ]);
    // Destroyed before the connection handler could answer on it.
    expect(received).toBe('');
    expect(srv.accepted[1]?.destroyed).toBe(true);
  });

  it('rejects configs that cannot be served securely', () => {
    const registry = CertificateProviderRegistry.of({});
    const common = { alpn_protocols: [], tls_certificate_sds_secret_configs: [], tls_certificates: [] };
    expect(() => new DownstreamTlsFactory({ common_tls_context: common }, registry)).toThrow(/a server needs an identity certificate/);
  });
});
