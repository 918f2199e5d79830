import { connect as tlsConnect } from 'node:tls';
import type { buildConnector } from 'undici';
import { explainTlsError, type UpstreamTls } from '@meshlet/core';

/**
 * An undici connector for one mTLS endpoint. It asks the compiled
 * UpstreamTlsContext for options on every new socket, so rotated certificates
 * (file_watcher, Istio CA) apply to new connections while open ones finish on
 * the old material. Handshake failures are explained: which check failed
 * (trust, SAN, expiry, missing identity), never a silent plaintext fallback.
 */
export function tlsConnector(tls: UpstreamTls, http2: boolean): buildConnector.connector {
  return (opts, callback) => {
    let options;
    try {
      options = tls.connectionOptions(http2 ? 'h2' : 'http/1.1');
    } catch (err) {
      callback(explainTlsError(err, 'server'), null);
      return;
    }
    const socket = tlsConnect({ ...options, host: opts.hostname, port: Number(opts.port) });
    let done = false;
    socket.once('secureConnect', () => {
      if (done) return;
      done = true;
      socket.off('error', onError);
      socket.setNoDelay(true);
      callback(null, socket);
    });
    const onError = (err: Error): void => {
      if (done) return;
      done = true;
      socket.destroy();
      callback(explainTlsError(err, 'server'), null);
    };
    socket.once('error', onError);
  };
}
