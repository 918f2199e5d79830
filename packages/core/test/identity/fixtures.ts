import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TlsOptions, type TLSSocket } from 'node:tls';
import type { StringMatcher, TransportSocket } from '@meshlet/xds-client';
import type { ClusterTransportConfig } from '../../src/identity/index.js';

/** A TLS server on 127.0.0.1:0 that records accepted sockets and answers each with its ALPN choice. */
export async function startTlsServer(options: TlsOptions): Promise<{ server: Server; port: number; accepted: TLSSocket[]; peerSerials: (string | undefined)[]; clientErrors: Error[]; close(): Promise<void> }> {
  const accepted: TLSSocket[] = [];
  const peerSerials: (string | undefined)[] = [];
  const clientErrors: Error[] = [];
  const server = createServer(options, (socket) => {
    accepted.push(socket);
    peerSerials.push(socket.getPeerCertificate()?.serialNumber);
    socket.on('error', () => undefined);
    socket.end(`alpn=${String(socket.alpnProtocol)}\n`);
  });
  server.on('tlsClientError', (err) => clientErrors.push(err));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    accepted,
    peerSerials,
    clientErrors,
    close: () => new Promise<void>((resolve) => {
      for (const s of accepted) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** An UpstreamTlsContext transport socket shaped like istiod's sidecar output (SDS default / ROOTCA). */
export function istioSidecarTlsSocket(sans: readonly StringMatcher[], sni = 'outbound_.9080_._.reviews.default.svc.cluster.local'): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    upstream_tls: {
      sni,
      common_tls_context: {
        alpn_protocols: ['istio-peer-exchange', 'istio'],
        tls_certificate_sds_secret_configs: [{ name: 'default' }],
        tls_certificates: [],
        validation_context: { match_subject_alt_names: sans, match_typed_subject_alt_names: [] },
        validation_context_sds_secret_config: { name: 'ROOTCA' },
      },
    },
  };
}

/** A transport socket shaped like istiod's `grpc` generator output (certificate provider instances). */
export function grpcGeneratorTlsSocket(sans: readonly StringMatcher[], alpn: readonly string[] = []): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    upstream_tls: {
      common_tls_context: {
        alpn_protocols: alpn,
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        tls_certificate_sds_secret_configs: [],
        tls_certificates: [],
        validation_context: {
          ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
          match_subject_alt_names: sans,
          match_typed_subject_alt_names: [],
        },
      },
    },
  };
}

export const RAW_BUFFER_SOCKET: TransportSocket = { name: 'envoy.transport_sockets.raw_buffer', raw_buffer: true };

export function istioCluster(tls: TransportSocket): ClusterTransportConfig {
  return {
    name: 'outbound|9080||reviews.default.svc.cluster.local',
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: tls },
      { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER_SOCKET },
    ],
  };
}

export const ISTIO_ENDPOINT_METADATA = { 'envoy.transport_socket_match': { tlsMode: 'istio' } };

export function readLine(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.once('end', () => resolve(data.trim()));
    socket.once('error', reject);
  });
}
