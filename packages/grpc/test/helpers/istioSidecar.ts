import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { DevCertificateAuthority, spiffeIdOfCertificate } from '@meshlet/core';

/**
 * An inbound sidecar in front of a plaintext app, shaped like Istio's: a TLS inspector reads the
 * ClientHello's ALPN list; in PERMISSIVE mode only a connection offering an `istio*` value goes
 * to the mTLS chain (client certificate required and checked against the mesh CA, then plaintext
 * to the app), any other bytes pass through to the app untouched; in STRICT mode everything goes
 * to the mTLS chain.
 */
export interface IstioSidecar {
  readonly port: number;
  /** Per connection, the ALPN list in the ClientHello (null: not a TLS ClientHello). */
  readonly offered: Array<string[] | null>;
  /** Per connection, which chain it took. */
  readonly chains: Array<'mtls' | 'passthrough'>;
  /** Per mTLS connection, the ALPN protocol the TLS server selected. */
  readonly negotiated: Array<string | false>;
  /** Per mTLS connection, the client's SPIFFE id as the TLS server verified it. */
  readonly peers: string[];
  close(): Promise<void>;
}

export interface IstioSidecarOptions {
  readonly mode: 'STRICT' | 'PERMISSIVE';
  /** The mesh CA: issues the sidecar's certificate and verifies client certificates. */
  readonly ca: DevCertificateAuthority;
  /** The plaintext app behind the sidecar. */
  readonly appPort: number;
  /** The sidecar's service account (its SPIFFE id is spiffe://cluster.local/ns/default/sa/<this>). */
  readonly serviceAccount?: string;
}

const ISTIO_VALUES = /^istio/;

export async function startIstioSidecar(options: IstioSidecarOptions): Promise<IstioSidecar> {
  const cert = options.ca.issueWorkload({ namespace: 'default', serviceAccount: options.serviceAccount ?? 'reviews' });
  const offered: Array<string[] | null> = [];
  const chains: Array<'mtls' | 'passthrough'> = [];
  const negotiated: Array<string | false> = [];
  const peers: string[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };

  // The mTLS chain, on its own loopback port so the inspector can hand it the connection with
  // the bytes it already read (replayed), as Envoy's listener does after tls_inspector.
  const mtls = createTlsServer({
    cert: cert.certChain,
    key: cert.privateKey,
    ca: cert.caBundle,
    requestCert: true,
    rejectUnauthorized: true,
    // Like Envoy's DownstreamTlsContext alpn (h2, http/1.1): the app protocol, not the istio markers.
    ALPNCallback: ({ protocols }) => (protocols.includes('h2') ? 'h2' : undefined),
  });
  mtls.on('secureConnection', (tls: TLSSocket) => {
    track(tls);
    negotiated.push(tls.alpnProtocol ?? false);
    peers.push(String(spiffeIdOfCertificate(tls.getPeerCertificate().raw)));
    pipeBoth(tls, track(netConnect(options.appPort, '127.0.0.1')));
  });
  mtls.on('tlsClientError', () => undefined);
  const mtlsPort = await listen(mtls);

  const front = createNetServer((socket) => {
    track(socket);
    let hello = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      hello = Buffer.concat([hello, chunk]);
      const complete = helloComplete(hello);
      if (!complete) return;
      socket.off('data', onData);
      socket.pause();
      const alpn = offeredAlpn(hello);
      offered.push(alpn);
      const toMtls = options.mode === 'STRICT' || (alpn !== null && alpn.some((p) => ISTIO_VALUES.test(p)));
      chains.push(toMtls ? 'mtls' : 'passthrough');
      const upstream = track(netConnect(toMtls ? mtlsPort : options.appPort, '127.0.0.1'));
      upstream.write(hello);
      pipeBoth(socket, upstream);
      socket.resume();
    };
    socket.on('data', onData);
  });
  const port = await listen(front);

  return {
    port,
    offered,
    chains,
    negotiated,
    peers,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([close(front), close(mtls)]);
    },
  };
}

/** Bytes both ways; an end or close on one side ends the other after what it already sent (a TLS alert, say). */
function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.once('close', () => b.end());
  b.once('close', () => a.end());
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Enough bytes to decide: the first TLS record in full, or a first byte that is not a TLS handshake record. */
function helloComplete(data: Buffer): boolean {
  if (data.length >= 1 && data[0] !== 0x16) return true;
  return data.length >= 5 && data.length >= 5 + data.readUInt16BE(3);
}

/**
 * The ALPN protocol names of a TLS ClientHello (RFC 8446 4.1.2, RFC 7301 3.1): record header,
 * handshake header, version, random, session id, cipher suites, compression methods, then the
 * extensions, of which application_layer_protocol_negotiation is type 16. Null when the bytes
 * are not a ClientHello; an empty list when it has no ALPN extension.
 */
export function offeredAlpn(data: Buffer): string[] | null {
  if (data.length < 5 || data[0] !== 0x16) return null;
  const body = data.subarray(5, 5 + data.readUInt16BE(3));
  if (body[0] !== 0x01) return null;
  let p = 4 + 2 + 32;
  p += 1 + body[p]!;
  p += 2 + body.readUInt16BE(p);
  p += 1 + body[p]!;
  if (p + 2 > body.length) return [];
  const extensionsEnd = p + 2 + body.readUInt16BE(p);
  p += 2;
  while (p + 4 <= extensionsEnd) {
    const type = body.readUInt16BE(p);
    const length = body.readUInt16BE(p + 2);
    p += 4;
    if (type === 16) {
      const names: string[] = [];
      const listEnd = p + 2 + body.readUInt16BE(p);
      for (let q = p + 2; q < listEnd; q += 1 + body[q]!) names.push(body.toString('latin1', q + 1, q + 1 + body[q]!));
      return names;
    }
    p += length;
  }
  return [];
}
