/** What filter chain selection knows about an accepted connection. */
export interface ConnectionInfo {
  /** Local address the connection arrived on (Node: socket.localAddress). */
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** Peer address (Node: socket.remoteAddress). */
  readonly sourceIp: string;
  readonly sourcePort: number;
  /** TLS SNI, when a ClientHello was inspected (Envoy's tls_inspector). */
  readonly serverName?: string;
  /** 'tls' or 'raw_buffer', when the first bytes were inspected. */
  readonly transportProtocol?: string;
  /** ALPN offered by the client, in the client's order. */
  readonly applicationProtocols?: readonly string[];
}
