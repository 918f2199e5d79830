import { errors, type buildConnector } from 'undici';
import { explainTlsError, type UpstreamTls } from '@meshlet/core/client';

// node:tls without an ESM import, which would build and keep its root certificates (see core's connectTls.ts).
const { connect: tlsConnect } = process.getBuiltinModule('node:tls');

/**
 * An undici connector for one mTLS endpoint. It asks the compiled
 * UpstreamTlsContext for options on every new socket, so rotated certificates
 * (file_watcher, Istio CA) apply to new connections while open ones finish on
 * the old material. Handshake failures are explained: which check failed
 * (trust, SAN, expiry, missing identity), never a silent plaintext fallback.
 *
 * The first connections after start-up may come before the certificate
 * provider has read its files: they wait for that first material (as gRPC and
 * Envoy do) instead of failing. `connectTimeoutMs` (the cluster's
 * connect_timeout) bounds the wait and the handshake together: undici applies
 * its own connect timeout only to the connectors it builds, not to ours.
 */
export function tlsConnector(tls: UpstreamTls, http2: boolean, connectTimeoutMs: number): buildConnector.connector {
  return (opts, callback) => {
    if (tls.material.hasMaterial()) {
      handshake(tls, http2, opts, Date.now() + connectTimeoutMs, callback);
      return;
    }
    const deadline = Date.now() + connectTimeoutMs;
    tls.material.whenReady(connectTimeoutMs).then(
      () => handshake(tls, http2, opts, deadline, callback),
      (err: unknown) => callback(explainTlsError(err, 'server'), null),
    );
  };
}

function handshake(tls: UpstreamTls, http2: boolean, opts: buildConnector.Options, deadline: number, callback: buildConnector.Callback): void {
  let options;
  try {
    options = tls.connectionOptions(http2 ? 'h2' : 'http/1.1');
  } catch (err) {
    callback(explainTlsError(err, 'server'), null);
    return;
  }
  const socket = tlsConnect({ ...options, host: opts.hostname, port: Number(opts.port) });
  let done = false;
  const finish = (err: Error | null): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off('error', onError);
    if (err === null) {
      socket.setNoDelay(true);
      callback(null, socket);
    } else {
      socket.destroy();
      callback(err, null);
    }
  };
  const onError = (err: Error): void => finish(explainTlsError(err, 'server'));
  // The same error undici's own connectors raise (UND_ERR_CONNECT_TIMEOUT: a connect failure, UF).
  const timer = setTimeout(() => finish(new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${opts.hostname}:${opts.port}, timeout: TLS handshake not done within the connect timeout)`)), Math.max(0, deadline - Date.now()));
  socket.once('secureConnect', () => finish(null));
  socket.once('error', onError);
}
