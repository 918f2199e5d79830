import { parseArgs } from 'node:util';
import { formatProxyConfig } from './formatProxyConfig.js';
import { ProxyConfigError, resolveProxyConfigFromMeshFile, resolveProxyConfigFromXds } from './resolveProxyConfig.js';

export const PROXY_CONFIG_USAGE = `  meshlet proxy-config <host:port> --bootstrap <bootstrap.json> [--json] [--timeout 5000]
                                             connect to the xDS server as the bootstrap's node and print the
                                             listener, routes, clusters and endpoints the target resolves to
  meshlet proxy-config <host:port> --mesh <mesh.yaml> [--json]
                                             the same for the embedded default (no control plane)`;

/**
 * `meshlet proxy-config`: prints what one target resolves to and exits. Exit codes: 0 printed,
 * 1 the target did not resolve (message on stderr), 2 usage.
 */
export async function proxyConfigCommand(args: readonly string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { bootstrap: { type: 'string' }, mesh: { type: 'string' }, json: { type: 'boolean', default: false }, timeout: { type: 'string', default: '5000' } },
  });
  const target = positionals[0];
  const timeoutMs = Number(values.timeout);
  if (positionals.length !== 1 || !target || (values.bootstrap === undefined) === (values.mesh === undefined) || !(timeoutMs > 0)) {
    err(`usage:\n${PROXY_CONFIG_USAGE}`);
    return 2;
  }
  if (!/^.+:\d+$/.test(target)) {
    err(`meshlet: target must be host:port, as listeners are named (e.g. reviews.default.svc.cluster.local:9080), got "${target}"`);
    return 2;
  }
  try {
    const view = values.bootstrap !== undefined
      ? await resolveProxyConfigFromXds({ target, timeoutMs, bootstrapFile: values.bootstrap })
      : await resolveProxyConfigFromMeshFile({ target, timeoutMs, meshFile: values.mesh! });
    out(values.json ? `${JSON.stringify(view, null, 2)}\n` : formatProxyConfig(view));
    return 0;
  } catch (error) {
    if (error instanceof ProxyConfigError) {
      err(`meshlet: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
