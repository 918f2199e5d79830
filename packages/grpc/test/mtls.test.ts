import * as grpc from '@grpc/grpc-js';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CertificateProviderRegistry, DevCertificateAuthority, Mesh, StaticCertificateProvider, UpstreamTls, spiffeIdOfCertificate } from '@meshlet/core';
import { StaticResourceSource } from '@meshlet/xds-client';
import { meshClientOptions, type MeshChannel } from '@meshlet/grpc';
import { ECHO_SERVICE, EchoClientConstructor, unary, type EchoClient } from './helpers/echoService.js';
import { startBackend } from './helpers/backends.js';
import { CLIENT_ID, SERVER_ID, TARGET, istioMutualSocket } from './helpers/istioMutualTls.js';
import { applyMesh, lbEndpoint } from '../../http/test/helpers/meshConfig.js';

/**
 * gRPC client mTLS from CDS (gRFC A29, Istio ISTIO_MUTUAL): real grpc-js servers that require a
 * client certificate from the mesh CA, DevCertificateAuthority SPIFFE certificates on both sides.
 */

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface MtlsServer {
  readonly port: number;
  /** The client SPIFFE id of every call, as the server's TLS stack verified it. */
  readonly peers: string[];
  /** Holds Stream calls open until released. */
  readonly streams: Array<() => void>;
}

/** A sidecar-like gRPC server: TLS with a workload certificate, client certificates required and checked against `ca`. */
async function startMtlsServer(ca: DevCertificateAuthority): Promise<MtlsServer> {
  const cert = ca.issueWorkload({ namespace: 'default', serviceAccount: 'reviews' });
  const peers: string[] = [];
  const streams: Array<() => void> = [];
  const peerOf = (call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer>): string => String(spiffeIdOfCertificate(call.getAuthContext().sslPeerCertificate!.raw));
  const server = new grpc.Server();
  const unaryHandler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    peers.push(peerOf(call));
    callback(null, Buffer.from('secure'));
  };
  server.addService(ECHO_SERVICE, {
    Echo: unaryHandler,
    Other: unaryHandler,
    Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      peers.push(peerOf(call));
      call.write(Buffer.from('first'));
      streams.push(() => {
        call.write(Buffer.from('last'));
        call.end();
      });
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.end(),
  });
  const credentials = grpc.ServerCredentials.createSsl(Buffer.from(cert.caBundle), [{ cert_chain: Buffer.from(cert.certChain), private_key: Buffer.from(cert.privateKey) }], true);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  cleanups.push(() => new Promise<void>((resolve) => {
    server.tryShutdown(() => resolve());
    server.forceShutdown();
  }));
  return { port, peers, streams };
}

/** Istio's transport_socket_matches: mTLS to `tlsMode: istio` endpoints, plaintext (raw_buffer) to the rest. */
function istioAutoMtls(sans: string[]): Record<string, unknown> {
  return {
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutualSocket(sans) },
      {
        name: 'tlsMode-disabled',
        match: {},
        transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
      },
    ],
  };
}

const ISTIO_ENDPOINT = { metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } } };

async function client(source: StaticResourceSource, providers: CertificateProviderRegistry | undefined): Promise<{ client: EchoClient; channel: MeshChannel }> {
  const mesh = await Mesh.create({ source, resolveTimeoutMs: 2000 });
  const options = meshClientOptions(mesh, `xds:///${TARGET}`, { ...(providers ? { certificateProviders: providers } : {}) });
  const c = new EchoClientConstructor(`xds:///${TARGET}`, grpc.credentials.createInsecure(), options);
  cleanups.push(() => {
    c.close();
    mesh.close();
  });
  return { client: c, channel: options.channelOverride };
}

function workloadProviders(ca: DevCertificateAuthority, serviceAccount = 'productpage'): { providers: CertificateProviderRegistry; provider: StaticCertificateProvider } {
  const provider = new StaticCertificateProvider('default', DevCertificateAuthority.toMaterial(ca.issueWorkload({ namespace: 'default', serviceAccount })));
  return { providers: CertificateProviderRegistry.of({ default: provider }), provider };
}

async function setup(sans: string[], clientCa: DevCertificateAuthority, serverCa: DevCertificateAuthority) {
  const server = await startMtlsServer(serverCa);
  const source = new StaticResourceSource();
  applyMesh(source, { target: TARGET, clusters: [{ name: 'outbound|9080||reviews.default.svc.cluster.local', ports: [server.port], cluster: { transport_socket: istioMutualSocket(sans) } }] });
  const { providers, provider } = workloadProviders(clientCa);
  return { server, provider, ...(await client(source, providers)) };
}

describe('gRPC client mTLS from CDS (UpstreamTlsContext, gRFC A29)', () => {
  it('presents the workload SPIFFE identity and verifies the server SAN', async () => {
    const ca = DevCertificateAuthority.create();
    const { server, client: c, channel } = await setup([SERVER_ID], ca, ca);
    expect(await unary(c)).toMatchObject({ ok: true, body: 'secure' });
    expect(await unary(c)).toMatchObject({ ok: true, body: 'secure' });
    expect(server.peers).toEqual([CLIENT_ID, CLIENT_ID]);
    expect(channel.endpoints.channelKeys()).toEqual([`127.0.0.1:${server.port}|tls:1`]);
  });

  it('sends mTLS to tlsMode: istio endpoints and plaintext to the others of the same cluster (transport_socket_matches)', async () => {
    const ca = DevCertificateAuthority.create();
    const secure = await startMtlsServer(ca);
    const plain = await startBackend('plain');
    cleanups.push(() => plain.close());
    const source = new StaticResourceSource();
    applyMesh(source, {
      target: TARGET,
      clusters: [{ name: 'c', ports: [], endpoints: [{ lb_endpoints: [lbEndpoint(secure.port, ISTIO_ENDPOINT), lbEndpoint(plain.port)] }], cluster: istioAutoMtls([SERVER_ID]) }],
    });
    const { client: c, channel } = await client(source, workloadProviders(ca).providers);
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await unary(c)).body);
    expect(bodies.sort()).toEqual(['plain', 'plain', 'secure', 'secure']);
    expect(secure.peers).toEqual([CLIENT_ID, CLIENT_ID]);
    expect(channel.endpoints.channelKeys().sort()).toEqual([`127.0.0.1:${plain.port}|plaintext`, `127.0.0.1:${secure.port}|tls:1`].sort());
  });

  it('fails closed (UNAVAILABLE, UF) naming the failed check: SAN mismatch', async () => {
    const ca = DevCertificateAuthority.create();
    const { server, client: c } = await setup(['spiffe://cluster.local/ns/default/sa/ratings'], ca, ca);
    const r = await unary(c);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    expect(r.details).toMatch(/SAN mismatch.*spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews.*want one of.*sa\/ratings/);
    expect(server.peers).toEqual([]);
  });

  it('fails closed naming the failed check: server certificate from an untrusted CA', async () => {
    const { server, client: c } = await setup([SERVER_ID], DevCertificateAuthority.create(), DevCertificateAuthority.create());
    const r = await unary(c);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    expect(r.details).toMatch(/meshlet mTLS: server certificate not trusted/);
    expect(server.peers).toEqual([]);
  });

  it('fails closed when no certificate providers are configured, never falling back to plaintext', async () => {
    const ca = DevCertificateAuthority.create();
    const server = await startMtlsServer(ca);
    const plain = await startBackend('plain');
    cleanups.push(() => plain.close());
    const source = new StaticResourceSource();
    // The plaintext backend would answer a plaintext attempt: it must never get one.
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [plain.port], cluster: { transport_socket: istioMutualSocket([SERVER_ID]) } }] });
    const { client: c, channel } = await client(source, undefined);
    const r = await unary(c);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    expect(r.details).toMatch(/no certificate providers are configured/);
    expect(plain.seen).toEqual([]);
    expect(server.peers).toEqual([]);
    expect(channel.endpoints.channelKeys()).toEqual([]);
  });

  it('fails closed against a server that does not speak TLS (what a PERMISSIVE sidecar does without Istio ALPN), saying so', async () => {
    const ca = DevCertificateAuthority.create();
    // A plaintext app: answers whatever arrives with plaintext bytes, as the app behind a
    // PERMISSIVE sidecar's TLS passthrough chain would.
    const firstBytes: number[] = [];
    const sockets = new Set<Socket>();
    const app = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('data', (d: Buffer) => {
        firstBytes.push(d[0]!);
        socket.end('plaintext only\n');
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      app.close(() => r());
    }));
    const source = new StaticResourceSource();
    applyMesh(source, { target: TARGET, clusters: [{ name: 'c', ports: [(app.address() as AddressInfo).port], cluster: { transport_socket: istioMutualSocket([SERVER_ID]) } }] });
    const { client: c } = await client(source, workloadProviders(ca).providers);
    const r = await unary(c);
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain('(UF)');
    expect(r.details).toMatch(/meshlet mTLS: TLS handshake with server failed: [\s\S]*does not speak TLS/);
    // The client opened with a TLS ClientHello (record type 0x16), never plaintext HTTP/2.
    expect(firstBytes[0]).toBe(0x16);
  });

  it('uses rotated certificates on a new endpoint channel while a running stream finishes on the old one', async () => {
    const ca = DevCertificateAuthority.create();
    const { server, provider, client: c, channel } = await setup([SERVER_ID], ca, ca);
    expect(await unary(c)).toMatchObject({ ok: true, body: 'secure' });

    const stream = c.Stream(Buffer.from('x'));
    const got: string[] = [];
    const ended = new Promise<grpc.StatusObject>((resolve, reject) => {
      stream.on('data', (m: Buffer) => got.push(m.toString()));
      stream.on('status', resolve);
      stream.on('error', reject);
    });
    await expect.poll(() => got.length).toBe(1);

    // Every attempt reads the material, but the credentials (and their connection options) are made
    // again only when it changes: the same transport object until the rotation, a new one after it.
    const transportNow = () => {
      const state = channel.mesh.state(channel.target);
      if (state.kind !== 'ready') throw new Error(`target not ready: ${state.kind}`);
      return channel.transports.forEndpoint(state.snapshot.cluster('outbound|9080||reviews.default.svc.cluster.local')!.cluster, undefined);
    };
    const optionsBuilt = vi.spyOn(UpstreamTls.prototype, 'connectionOptions');
    cleanups.push(() => optionsBuilt.mockRestore());
    const before = transportNow();
    expect(transportNow()).toBe(before);
    expect(optionsBuilt).not.toHaveBeenCalled();

    // The provider rotates (istio-agent rewrote the files; here a new service account makes it visible).
    const rotated = 'spiffe://cluster.local/ns/default/sa/productpage-v2';
    provider.update(DevCertificateAuthority.toMaterial(ca.issueWorkload({ namespace: 'default', serviceAccount: 'productpage-v2' })));
    const after = transportNow();
    expect(after).not.toBe(before);
    expect(after.slot).toBe(before.slot);
    expect(transportNow()).toBe(after);
    expect(optionsBuilt).toHaveBeenCalledTimes(1);
    expect(await unary(c)).toMatchObject({ ok: true, body: 'secure' });
    expect(server.peers).toEqual([CLIENT_ID, CLIENT_ID, rotated]);

    // The old channel drains: the stream started before the rotation ends normally on it, then it closes.
    server.streams[0]!();
    expect((await ended).code).toBe(grpc.status.OK);
    expect(got).toEqual(['first', 'last']);
    expect(channel.endpoints.channelKeys()).toEqual([`127.0.0.1:${server.port}|tls:1`]);
    expect(await unary(c)).toMatchObject({ ok: true, body: 'secure' });
    expect(server.peers.at(-1)).toBe(rotated);
  });
});
