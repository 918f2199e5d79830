import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { explainTlsError } from './MeshletTlsError.js';

// node:tls without an ESM import: Node's ESM wrapper of a builtin reads every export once, and
// tls's rootCertificates getter then builds and keeps Node's bundled root certificates (0.4 MB
// surviving young-generation GCs at load; BENCHMARKS.md, footprint sixth pass), which Meshlet never reads.
const { connect } = process.getBuiltinModule('node:tls');

/**
 * `tls.connect` that resolves on a verified handshake and rejects with a MeshletTlsError naming the
 * failed check. Under TLS 1.3 a server's refusal of our client certificate arrives after the
 * handshake, as an error on the socket: pass later socket errors through explainTlsError(err, 'server').
 */
export function connectTls(options: ConnectionOptions & { readonly host: string; readonly port: number }): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(options);
    const onError = (err: Error): void => {
      socket.destroy();
      reject(explainTlsError(err, 'server'));
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
